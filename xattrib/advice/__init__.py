"""Stage: the answer for a user's network and data — which attribution method to believe and
which GT-free metric to check it with (:func:`advise`), measured on surrogate networks whose
truth is exact."""

from .advising import DEFAULT_RESPONSES, MIN_SAMPLES, Advice, advise

__all__ = ["DEFAULT_RESPONSES", "MIN_SAMPLES", "Advice", "advise"]
