"""The Grid'5000 usage charter: weekdays 9:00-19:00 Europe/Paris, French holidays excepted.

All functions are pure; times are unix seconds.
"""

from ._charter import charter_periods as charter_periods
from ._charter import easter_sunday as easter_sunday
from ._charter import french_holidays as french_holidays
from ._charter import g5k_charter_time as g5k_charter_time
from ._charter import get_next_charter_period as get_next_charter_period

__all__ = [
    "g5k_charter_time",
    "get_next_charter_period",
    "charter_periods",
    "french_holidays",
    "easter_sunday",
]
