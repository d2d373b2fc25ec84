"""Front ends of edgemarket: the `edgemarket` CLI and the Streamlit pages."""
