"""AdventureWorks analytics: the Streamlit entry point (`adw dashboard` serves it).

Reads only the serving snapshot ($ADW_HOME/serving/*.parquet) and the events landing zone;
never the warehouse, so it keeps answering while a build or replication writes.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

# the package adw_assets.dashboard: this folder in a checkout (the editable install maps it),
# inside the package when adw is installed from a wheel
from adw_assets.dashboard import ui

st.set_page_config(
    page_title="AdventureWorks analytics",
    page_icon=str(Path(__file__).parent / "static" / "favicon.png"),  # local: no CDN
    layout="wide",
    menu_items={"About": "adw: AdventureWorks analytics (dbt marts, live web events)."},
)

PAGES = Path(__file__).parent / "views"
nav = st.navigation(
    {
        "AdventureWorks": [
            st.Page(PAGES / "overview.py", title="Overview", icon=":material/dashboard:",
                    default=True),
        ],
        "Business questions": [
            st.Page(PAGES / "products.py", title="1 · Products", icon=":material/category:",
                    url_path="products"),
            st.Page(PAGES / "customers.py", title="2 · Customers", icon=":material/group:",
                    url_path="customers"),
            st.Page(PAGES / "orders.py", title="3 · Order status",
                    icon=":material/local_shipping:", url_path="orders"),
            st.Page(PAGES / "geography.py", title="4 · Geography", icon=":material/public:",
                    url_path="geography"),
            st.Page(PAGES / "web.py", title="5 · Web traffic (live)",
                    icon=":material/monitoring:", url_path="web"),
        ],
    }
)  # fmt: skip
with st.sidebar:
    st.caption(ui.snapshot_age())
    st.caption("Snapshot of the dbt marts, exported after each build; the live panel reads the "
               "event landing zone directly.")  # fmt: skip
nav.run()
