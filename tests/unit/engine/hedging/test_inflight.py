"""A crashed router's child orders looked up, folded per hedge (engine/hedging/inflight.py)."""

from engine.hedging import fold_lookups
from engine.types import ChildLookup, ChildOrder, ChildOrderResult, InflightState, Side


def _found(cid):
    return ChildOrderResult(ChildOrder("h", cid, "a", "BTC/USDT", Side.BUY, 1.0, 10.0), "filled")


def test_a_hedge_concludes_when_every_child_is_found_or_never_reached_the_venue():
    lookup = fold_lookups(
        [("c0", ChildLookup.FOUND, _found("c0")), ("c1", ChildLookup.NOT_FOUND, None)]
    )
    assert lookup.state is InflightState.CONCLUDED
    assert [r.order.client_order_id for r in lookup.results] == ["c0"]
    assert lookup.undetermined == ()


def test_one_child_a_venue_cannot_say_about_keeps_the_whole_hedge_in_flight():
    lookup = fold_lookups(
        [("c0", ChildLookup.FOUND, _found("c0")), ("c1", ChildLookup.UNDETERMINED, None)]
    )
    assert lookup.state is InflightState.UNDETERMINED and lookup.undetermined == ("c1",)


def test_venue_answers_as_strings_map_onto_the_enum():
    assert [ChildLookup(s) for s in ("found", "not_found", "undetermined")] == list(ChildLookup)
