"""Render ``deploy/k8s`` as ``kubectl kustomize`` would, for the features it uses.

``kubectl kustomize`` is used when this machine has kubectl; otherwise this small renderer
applies what our kustomization uses: ``resources``, ``namespace``, ``labels`` (metadata only)
and ``images`` (new tag).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}


def render(root: Path) -> list[dict[str, Any]]:
    """The rendered documents of the kustomization in ``root``."""
    kubectl = shutil.which("kubectl")
    if kubectl is not None:
        out = subprocess.run([kubectl, "kustomize", str(root)], capture_output=True, text=True, timeout=120,
                             check=True).stdout
        return [d for d in yaml.safe_load_all(out) if d]
    return render_in_python(root)


def render_in_python(root: Path) -> list[dict[str, Any]]:
    """The same, without kubectl."""
    spec = yaml.safe_load((root / "kustomization.yaml").read_text())
    docs = [d for name in spec["resources"] for d in yaml.safe_load_all((root / name).read_text()) if d]
    tags = {i["name"]: i["newTag"] for i in spec.get("images", [])}
    for doc in docs:
        meta = doc.setdefault("metadata", {})
        if spec.get("namespace") and doc["kind"] not in CLUSTER_SCOPED:
            meta["namespace"] = spec["namespace"]
        for group in spec.get("labels", []):
            meta.setdefault("labels", {}).update(group["pairs"])
        for container in _containers(doc):
            name = container["image"].split(":")[0]
            if name in tags:
                container["image"] = f"{name}:{tags[name]}"
    return docs


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    template = doc.get("spec", {}).get("template", {})
    return list(template.get("spec", {}).get("containers", []))
