"""Root cause's JSON API: the taxonomy a resolution chooses from, and the spikes happening now."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from services.triage.rootcause import spikes
from services.triage.rootcause.schemas import RootCauseOut, SpikeOut
from services.triage.web import now, sessions
from shared.auth import org, require

blp = Blueprint("root_causes", __name__, url_prefix="/api/v1", description="Root causes and spikes")


@blp.route("/root-causes")
class RootCauses(MethodView):
    @blp.response(200, RootCauseOut(many=True))
    @require()
    def get(self) -> list[dict[str, Any]]:
        """The root-cause taxonomy a resolution must choose from."""
        return [{"code": c.code, "label": c.label, "plain": c.plain} for c in org().root_causes.values()]


@blp.get("/spikes")
@blp.response(200, SpikeOut(many=True))
@require("lead", "leader", "admin")
def active_spikes() -> list[dict[str, Any]]:
    """Root causes repeating on one touchpoint right now (leads and leadership)."""
    with sessions()() as session:
        return spikes.active_spikes(session, now(), org())
