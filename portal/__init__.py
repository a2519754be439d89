"""Map portal: Folium maps and Jinja pages, presentation only."""
