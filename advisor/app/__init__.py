"""What only the Streamlit app uses: page logic, display helpers, feedback. The engine never imports this."""
