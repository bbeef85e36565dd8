"""Kreiswissen: a self-hosted, permission-aware German knowledge assistant for public administrations."""

import os as _os

__version__ = "0.1.0"

# Nothing leaves the building: model hubs offline, telemetry of any library off (unless an operator
# deliberately sets otherwise in the environment).
for _name, _value in (("HF_HUB_OFFLINE", "1"), ("HF_HUB_DISABLE_TELEMETRY", "1"), ("TRANSFORMERS_OFFLINE", "1"),
                      ("DO_NOT_TRACK", "1"), ("ANONYMIZED_TELEMETRY", "False")):
    _os.environ.setdefault(_name, _value)
