# Copyright (c) shike-mm contributors. All rights reserved.
"""Range and type checks of constructor arguments, naming the argument."""
import numbers


def check_num_experts(num_experts, owner: str, field: str) -> int:
    """Return ``num_experts`` as an ``int`` if it is a whole number >= 1.

    Args:
        num_experts: The value given (``model.backbone.num_experts`` or
            ``model.head.num_experts`` in a config).
        owner (str): Name of the class taking it, for the message.
        field (str): Where a config sets it (``model.backbone.num_experts``).

    Returns:
        int: ``num_experts``.

    Raises:
        ValueError: If it is not a whole number (a float such as 2.5, a
            string, a bool) or is below 1.
    """
    if (isinstance(num_experts, bool)
            or not isinstance(num_experts, numbers.Integral)
            or num_experts < 1):
        raise ValueError(
            f'{owner}: num_experts={num_experts!r} ({field} in a config) is '
            'not valid: it must be a whole number >= 1 (the number of '
            'experts; 3 in SHIKE and RIDE)')
    return int(num_experts)
