"""What the gateway simulator can be told to get wrong, and how often: changeable at run time (`/_faults`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Faults:
    """What goes wrong, and how often (rates are per call, 0..1)."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    http_500_rate: float = 0.0
    """Answer HTTP 500 before accepting anything (the client cannot know that nothing was accepted)."""
    accept_then_5xx_rate: float = 0.0
    """Accept the call's numbers, then answer `accept_then_5xx_status` instead of the success answer: a proxy in
    front of the provider that timed out or failed after the provider took the call."""
    accept_then_5xx_status: int = 502
    code_18_rate: float = 0.0
    code_16_rate: float = 0.0
    stall_rate: float = 0.0
    """Accept the call's numbers, then answer only after `stall_s` (the ambiguous read timeout)."""
    stall_s: float = 5.0
    reset_rate: float = 0.0
    """Close the connection without answering, and without accepting anything."""
    balance: int | None = None
    """Numbers that can still be accepted; a call needing more is answered -10. None: unlimited."""
    forced_status: str | None = None
    """Answer this status (other than "0") to every call, accepting nothing."""
    delivered_ratio: float = 1.0
    """Share of msgIds getReport says were delivered (the rest failed), decided per msgId."""

    def __post_init__(self) -> None:
        if not 500 <= self.accept_then_5xx_status < 600:
            raise ValueError(f"accept_then_5xx_status must be a 5xx status, not {self.accept_then_5xx_status}")
