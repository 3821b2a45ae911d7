"""Tiny host page for the data-quality panel, as the Data page's "Data quality" tab calls it.

The panel runs inside the router in the app; here the router is marked as started so that
``page_setup`` draws this script instead of handing over to the navigation (the flag is restored
afterwards, so other tests in the same process see it unchanged).
"""

from ui import nav, quality_panel
from ui.frame import page_setup
from ui.i18n import _

router_was_started = nav.ROUTER_STARTED
nav.ROUTER_STARTED = True
try:
    ctx = page_setup(_("Data quality"))
    quality_panel.render(ctx)
finally:
    nav.ROUTER_STARTED = router_was_started
