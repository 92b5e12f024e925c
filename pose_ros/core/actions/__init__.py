"""Per-track action labels over a time window: learned temporal model and rule baseline."""
from pose_ros.core.actions.learned import LearnedActionClassifier, create_action_classifier
from pose_ros.core.actions.rules import ACTION_CLASSES, UNKNOWN, ActionResult, RuleActionClassifier

__all__ = ["ACTION_CLASSES", "UNKNOWN", "ActionResult", "LearnedActionClassifier", "RuleActionClassifier",
           "create_action_classifier"]
