"""Customer Workbench: entry point. Builds the navigation; every page draws the shared frame itself."""

from ui.nav import route

route()
