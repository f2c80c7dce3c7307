"""The city's side of routing, simulated: which unit really acts on each simulated problem.

The simulated work-order system asks this judge about every work order it receives. The
judge looks the order's posts up in the corpus truth (category, secondary categories,
district, street: what the written post really is about) and applies the city's public
duties list (``configs/routing.yaml``) to that truth. An order sent to a unit that is not
the right one for the true category, or not the one holding the true place, is returned
(退单) with the reason a unit would write and the unit it should have gone to.

What the truth does not know it cannot dispute: a post that names only its district
accepts any street office in that district; a post that is no problem at all (a false
lead) is accepted and closed as nothing found, which is a wrong lead, not wrong routing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from case_opener.duties import DutiesList
from sim.platforms.corpus import Corpus
from sim.platforms.items import Item
from xianban.records import Geo


@dataclass(frozen=True, slots=True)
class Judgement:
    accepted: bool
    right_unit: str
    reason: str
    incident: str | None


class DutyJudge:
    """Judges a work order's unit against the corpus truth of its posts."""

    def __init__(self, corpus: Corpus, duties: DutiesList) -> None:
        self.corpus = corpus
        self.duties = duties

    def item(self, post_ids: list[str]) -> Item | None:
        """The first post of the order the corpus knows, preferring a real problem."""
        known = []
        for post_id in post_ids:
            _, _, native = post_id.partition(":")
            found = self.corpus.get(native or post_id)
            if found is not None:
                known.append(found)
        leads = [i for i in known if i.truth.is_lead and i.truth.category]
        chosen = leads or known
        return chosen[0] if chosen else None

    def incident(self, post_ids: list[str]) -> str | None:
        found = self.item(post_ids)
        return found.truth.incident if found is not None else None

    def judge(self, form: Mapping[str, str]) -> Judgement | None:
        """The receiving unit's answer to an Open311 work order (the form the case opener
        files)."""
        return self.judge_unit(
            [p for p in form.get("attribute[post_ids]", "").split(",") if p],
            form.get("attribute[department]", ""),
            Geo(
                district=form.get("attribute[district]") or None,
                street=form.get("attribute[street]") or None,
                community=form.get("attribute[community]") or None,
            ),
        )

    def judge_unit(self, post_ids: list[str], unit: str, ours: Geo) -> Judgement | None:
        """Whether ``unit`` acts on the problem the posts report; ``ours`` is the place the
        order gives (the truth is made as fine as the order where it cannot say). One judgement for
        a filed work order and for ``xianban eval --sim``'s cases, which are never filed."""
        found = self.item(post_ids)
        if found is None:
            return None
        truth = found.truth
        if not truth.is_lead or not truth.category:
            return Judgement(True, unit, "", truth.incident)
        geo = self._place(truth.district, truth.street, ours)
        # the true category's own duty decides, not the matter shortcuts our side may take
        right = {
            self.duties.route(category, geo, found.text, matters=False).unit
            for category in (truth.category, *truth.also)
        }
        main = self.duties.route(truth.category, geo, found.text, matters=False).unit
        if unit in right:
            return Judgement(True, unit, "", truth.incident)
        named = self._district_of(unit)
        if named is not None and geo.district is not None and named != geo.district:
            why = f"非本单位辖区：问题位于{geo.district}{geo.street or ''}"
        elif geo.street and "街道" in unit and geo.street not in unit:
            why = f"非本街道辖区：问题位于{geo.district}{geo.street}"
        else:
            why = "非本单位职责"
        return Judgement(False, main, f"{why}，建议转 {main}", truth.incident)

    def _district_of(self, unit: str) -> str | None:
        """The district a unit's name belongs to (宝安区…, …宝安管理局), if it names one."""
        for name, district in self.duties.places.districts.items():
            if name in unit or f"{district.short}管理局" in unit or f"{district.short}大队" in unit:
                return name
            if f"{district.short}分局" in unit or f"{district.short}监管局" in unit:
                return name
        return None

    @staticmethod
    def _place(district: str | None, street: str | None, ours: Geo) -> Geo:
        """The true place, made as fine as the order's where the truth cannot say."""
        if district is None:
            return ours
        if ours.district != district:
            return Geo(district=district, street=street)
        if street is None:
            return ours
        if ours.street != street:
            return Geo(district=district, street=street)
        return Geo(district=district, street=street, community=ours.community)
