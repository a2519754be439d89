"""A Folium element that loads GeoJSON by URL in the browser and colours it by classed property."""

from __future__ import annotations

import json

from branca.element import MacroElement
from jinja2 import Template

# ColorBrewer YlOrRd, 5 classes: sequential and colour-blind safe
PALETTE = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]


class RemoteGeoJson(MacroElement):
    """GeoJSON fetched from `url` when the page loads (not inlined), styled by class breaks of `prop`."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
            var breaks = {{ this.breaks_json }};
            var palette = {{ this.palette_json }};
            var fields = {{ this.fields_json }};
            function colour(v) {
                if (v === null || v === undefined) { return "#cccccc"; }
                for (var i = 0; i < breaks.length; i++) { if (v <= breaks[i]) { return palette[i]; } }
                return palette[palette.length - 1];
            }
            fetch({{ this.url_json }}).then(function(r) {
                if (!r.ok) { throw new Error("HTTP " + r.status); }
                return r.json();
            }).then(function(data) {
                var layer = L.geoJson(data, {
                    style: function(f) {
                        return {
                            fillColor: {{ 'colour(f.properties[' ~ this.prop_json ~ '])'
                                          if this.breaks else '"none"' }},
                            fill: {{ "true" if this.breaks else "false" }},
                            fillOpacity: {{ this.fill_opacity }}, color: {{ this.line_json }},
                            weight: {{ this.weight }}, opacity: 0.9
                        };
                    },
                    onEachFeature: function(f, l) {
                        var rows = fields.map(function(p) {
                            var v = f.properties[p[0]];
                            if (typeof v === "number") { v = v.toLocaleString("id-ID"); }
                            return "<tr><th style='text-align:left;padding-right:6px'>" + p[1] +
                                   "</th><td>" + (v === null ? "–" : v) + "</td></tr>";
                        });
                        l.bindTooltip("<table>" + rows.join("") + "</table>", {sticky: true});
                    }
                });
                layer.addTo({{ this._parent.get_name() }});
                document.body.dataset[{{ this.ready_key }}] = data.features.length;
            }).catch(function(err) {
                console.warn("layer " + {{ this.url_json }} + " failed: " + err);
                document.body.dataset[{{ this.ready_key }}] = "error";
            });
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        url: str,
        *,
        prop: str | None = None,
        breaks: list[float] | None = None,
        fields: list[tuple[str, str]] | None = None,
        line: str = "#555555",
        weight: float = 1.0,
        fill_opacity: float = 0.6,
        ready_key: str = "layer",
    ) -> None:
        super().__init__()
        self._name = "RemoteGeoJson"
        self.breaks = breaks or []
        self.url_json = json.dumps(url)
        self.prop_json = json.dumps(prop)
        self.breaks_json = json.dumps(self.breaks)
        self.palette_json = json.dumps(PALETTE[: len(self.breaks) + 1] if self.breaks else PALETTE)
        self.fields_json = json.dumps(fields or [])
        self.line_json = json.dumps(line)
        self.weight = weight
        self.fill_opacity = fill_opacity if self.breaks else 0.0
        self.ready_key = json.dumps(ready_key)
