"""Hedge routing: walk books, split a hedge across venues, plan child orders inside the limits."""

from engine.routing.planner import HedgePlan, VenueQuote, client_order_id, plan_hedge
from engine.routing.split import all_in_total, best_split
from engine.routing.walk import WalkResult, all_in_price, taking_side, walk_book

__all__ = [
    "HedgePlan",
    "VenueQuote",
    "WalkResult",
    "all_in_price",
    "all_in_total",
    "best_split",
    "client_order_id",
    "plan_hedge",
    "taking_side",
    "walk_book",
]
