"""Shared helpers of the Streamlit pages: store connection, cached queries, plots, labels."""
