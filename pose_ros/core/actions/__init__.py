"""Per-track action labels over a time window: learned temporal model and rule baseline."""
from pose_ros.core.actions.learned import LearnedActionClassifier, create_action_classifier
from pose_ros.core.actions.rules import ACTION_CLASSES, UNKNOWN, ActionResult, RuleActionClassifier
from pose_ros.core.actions.stage import ActionStage, StageResult

__all__ = ["ACTION_CLASSES", "UNKNOWN", "ActionResult", "ActionStage", "LearnedActionClassifier",
           "RuleActionClassifier", "StageResult", "create_action_classifier"]
