"""Write a contact sheet of every style: ``python -m training.styles out.png [seed]``."""

from __future__ import annotations

import sys

from training.styles import contact_sheet

if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "styles.png"
    contact_sheet(seed=int(sys.argv[2]) if len(sys.argv) > 2 else 0).save(out)
