"""What ``ros2 bag info`` shows, from rosbags."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pose_ros.bag.common import open_reader


def info(bag: str | Path) -> dict[str, Any]:
    """Metadata of a bag: storage, files, size, duration, start/end (ns), counts and types per topic."""
    path = Path(bag)
    reader = open_reader(path)
    try:
        storage = {".mcap": "mcap", ".db3": "sqlite3"}.get(path.suffix, "")
        if path.is_dir():
            from ruamel.yaml import YAML
            meta = YAML(typ="safe").load((path / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
            storage = meta.get("storage_identifier", "")
            files = [path / Path(f).name for f in meta.get("relative_file_paths", [])]
        else:
            files = [path]
        n = reader.message_count
        return {
            "path": str(path), "storage": storage, "files": [f.name for f in files],
            "size": sum(f.stat().st_size for f in files if f.exists()),
            "ros_distro": reader.ros_distro or "",
            "duration": (reader.duration - 1) * 1e-9 if n else 0.0,
            "start": reader.start_time if n else 0, "end": reader.end_time - 1 if n else 0,
            "message_count": n,
            "topics": [{"name": name, "type": t.msgtype or "(mixed)", "count": t.msgcount,
                        "serialization": t.connections[0].ext.serialization_format if t.connections else "cdr"}
                       for name, t in sorted(reader.topics.items())],
        }
    finally:
        reader.close()


def format_info(d: dict[str, Any]) -> str:
    def stamp(ns: int) -> str:
        sec, frac = divmod(ns, 10**9)
        return time.strftime("%b %d %Y %H:%M:%S", time.gmtime(sec)) + f".{frac:09d} ({sec}.{frac:09d})"

    lines = [f"Files:             {', '.join(d['files'])}",
             f"Bag size:          {d['size'] / 1024 ** 2:.1f} MiB",
             f"Storage id:        {d['storage']}",
             f"ROS Distro:        {d['ros_distro'] or 'unknown'}",
             f"Duration:          {d['duration']:.9f}s",
             f"Start:             {stamp(d['start'])}",
             f"End:               {stamp(d['end'])}",
             f"Messages:          {d['message_count']}"]
    width = max((len(t["name"]) for t in d["topics"]), default=0)
    for i, t in enumerate(d["topics"]):
        head = "Topic information: " if i == 0 else " " * 19
        lines.append(f"{head}Topic: {t['name']:<{width}} | Type: {t['type']} | Count: {t['count']} | "
                     f"Serialization Format: {t['serialization']}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- writing
