/* Peta Kemiskinan: a choropleth of poverty by kecamatan, kelurahan or RT, classed, with drill-down,
   a sortable table (CSV), print and image export. Layers: /api/v1/areas (simplified boundaries) joined
   in the browser with /api/v1/stats/{level} (published figures: small counts suppressed for non-staff). */
function PETA_PAGE() {
  "use strict";
  var t = P.t, map = P.map();
  var LEVELS = ["kecamatan", "kelurahan", "rt"];
  var CHILD = {kecamatan: "kelurahan", kelurahan: "rt"};
  var SIMPLIFY = {kecamatan: 20, kelurahan: 8, rt: 3};
  var INDICATORS = [  // key, decimals
    ["poverty_rate_pct", 1], ["poor_bps_families", 0], ["desil_1_4_pct", 1], ["fakir_miskin_families", 0],
    ["poor_without_pkh", 0], ["poor_without_pbi_jk", 0], ["under_coverage_people", 0], ["target_coverage_pct", 1]
  ];
  var query = new URLSearchParams(location.search);
  var state = {
    level: LEVELS.indexOf(query.get("level")) >= 0 ? query.get("level") : "kecamatan",
    parent: query.get("parent") || null,
    indicator: query.get("indicator") || "poverty_rate_pct",
    method: P.METHODS.some(function (m) { return m[0] === query.get("method"); }) ? query.get("method") : P.METHODS[0][0]
  };
  var cache = {}, layer = null, rows = [], names = {};
  var sort = {key: "value", dir: -1, row: null};  // the table's order, kept across levels and indicators

  P.i18n(document.getElementById("panel"));
  var options = P.options;
  var levelSel = document.getElementById("level"), indSel = document.getElementById("indicator");
  var methodSel = document.getElementById("method");
  options(levelSel, LEVELS.map(function (l) { return [l, t(l)]; }), state.level);
  options(indSel, INDICATORS.map(function (i) { return [i[0], t("ind_" + i[0])]; }), state.indicator);
  options(methodSel, P.METHODS.map(function (m) { return [m[0], t(m[1])]; }), state.method);
  levelSel.addEventListener("change", function () { state.level = levelSel.value; state.parent = null; draw(true); });
  indSel.addEventListener("change", function () { state.indicator = indSel.value; draw(false); });
  methodSel.addEventListener("change", function () { state.method = methodSel.value; draw(false); });

  function digits() { return INDICATORS.filter(function (i) { return i[0] === state.indicator; })[0][1]; }

  /* an RT's kelurahan by name: "RT 007" repeats in every kelurahan */
  function kelurahan(code) { return code.length > 13 ? names[code.slice(0, 13)] || "" : ""; }

  /* the kab/kota shown (the header's switch): its areas only */
  var city = window.PETA.kota ? "&parent=" + encodeURIComponent(window.PETA.kota) : "";

  function load(level) {
    if (!cache[level]) {
      cache[level] = Promise.all([
        P.api("/api/v1/areas?level=" + level + "&limit=10000&simplify=" + SIMPLIFY[level] + city),
        P.api("/api/v1/stats/" + level + (city ? "?" + city.slice(1) : ""))
      ]).then(function (res) {
        var figures = {};
        res[1].areas.forEach(function (a) {
          a.desil_1_4_pct = (a.poor_local_families === null || !a.families) ? null
                          : Math.round(1000 * a.poor_local_families / a.families) / 10;
          figures[a.code] = a;
        });
        res[0].features.forEach(function (f) {
          names[f.properties.code] = f.properties.name;
          f.properties.figures = figures[f.properties.code] || null;
        });
        return res[0];
      });
    }
    return cache[level];
  }

  function value(fig) { return fig ? fig[state.indicator] : null; }
  function hidden(fig) {
    var key = state.indicator === "desil_1_4_pct" ? "poor_local_families" : state.indicator;
    return !!(fig && fig.suppressed && (fig.suppressed.indexOf(key) >= 0 ||
             (state.indicator === "poverty_rate_pct" && fig.suppressed.indexOf("poor_bps_people") >= 0)));
  }

  function crumbs() {
    var parts = ["<a href='#' data-go=''>" + P.esc(t("all_city")) + "</a>"];
    if (state.parent) {
      var codes = [state.parent.slice(0, 8)];
      if (state.parent.length > 8) { codes.push(state.parent); }
      codes.forEach(function (c) { parts.push("<a href='#' data-go='" + c + "'>" + P.esc(names[c] || c) + "</a>"); });
    }
    var el = document.getElementById("crumbs");
    el.innerHTML = parts.join(" › ");
    el.querySelectorAll("a").forEach(function (a) {
      a.addEventListener("click", function (ev) {
        ev.preventDefault();
        var code = a.dataset.go;
        state.parent = code || null;
        state.level = !code ? "kecamatan" : code.length === 8 ? "kelurahan" : "rt";
        levelSel.value = state.level;
        draw(true);
      });
    });
  }

  function info(code) {
    var r = rows.filter(function (x) { return x.code === code; })[0];
    var el = document.getElementById("info");
    if (!r) { el.textContent = t("click_hint"); return; }
    // the indicator shown first; each figure once (the indicator may be one of the figures always listed)
    var always = [["families", P.fmt(r.families, 0)], ["people", P.fmt(r.people, 0)],
                  ["ind_poor_bps_families", P.fmt(r.poor_bps_families, 0)], ["ind_poverty_rate_pct", P.fmt(r.poverty_rate_pct, 1)]];
    var lines = [["code", r.code]].concat(r.kelurahan ? [["kelurahan", r.kelurahan]] : [],
                 [["ind_" + state.indicator, P.fmt(r.value, digits())]],
                 always.filter(function (l) { return l[0] !== "ind_" + state.indicator; }));
    el.innerHTML = "<b data-code='" + P.esc(r.code) + "'>" + P.esc(r.name) + "</b>" + (r.hidden ? " <em>(" + P.esc(t("suppressed")) + ")</em>" : "") +
      P.facts(lines);
    document.body.dataset.selected = r.code;
  }

  function select(code, feature) {
    info(code);
    var child = CHILD[state.level];
    if (child) {
      state.parent = code;
      state.level = child;
      levelSel.value = child;
      if (feature) { map.fitBounds(L.geoJSON(feature).getBounds(), {maxZoom: 16}); }
      draw(false);
    }
  }

  function draw(fit) {
    P.status(t("loading"));
    var level = state.level;
    var params = new URLSearchParams({level: level, indicator: state.indicator, method: state.method, lang: window.PETA.lang});
    if (state.parent) { params.set("parent", state.parent); }
    history.replaceState(null, "", "?" + params.toString());
    // at RT level the kelurahan's names come with their boundaries (already loaded when drilling down)
    Promise.all([load(level), level === "rt" ? load("kelurahan") : null]).then(function (loaded) {
      var fc = loaded[0];
      if (level !== state.level) { return; }
      var feats = fc.features.filter(function (f) {
        return !state.parent || f.properties.code.indexOf(state.parent + ".") === 0;
      });
      var values = feats.map(function (f) { return hidden(f.properties.figures) ? null : value(f.properties.figures); });
      var breaks = P.classify(values, state.method, 5);
      rows = feats.map(function (f, i) {
        var fig = f.properties.figures || {};
        return {code: f.properties.code, name: f.properties.name, kelurahan: kelurahan(f.properties.code), value: values[i], hidden: hidden(fig),
                families: fig.families, people: fig.people, poor_bps_families: fig.poor_bps_families,
                poverty_rate_pct: fig.poverty_rate_pct, _class: hidden(fig) ? "suppressed" : ""};
      });
      if (layer) { map.removeLayer(layer); }
      layer = L.geoJSON({type: "FeatureCollection", features: feats}, {
        style: function (f) {
          var fig = f.properties.figures, v = value(fig);
          var fill = hidden(fig) ? P.SUPPRESSED : (v === null || v === undefined) ? P.NODATA : P.PALETTE[P.classOf(v, breaks)];
          return {fillColor: fill, fillOpacity: 0.75, color: "#555", weight: level === "rt" ? 0.4 : 1,
                  dashArray: hidden(fig) ? "3 3" : null};
        },
        onEachFeature: function (f, l) {
          var fig = f.properties.figures;
          var kel = kelurahan(f.properties.code);
          l.bindTooltip("<b>" + P.esc(f.properties.name) + (kel ? ", " + P.esc(kel) : "") + "</b><br>" + P.esc(t("ind_" + state.indicator)) + ": " +
                        (hidden(fig) ? P.esc(t("suppressed")) : P.fmt(value(fig), digits())), {sticky: true});
          l.on("click", function () { select(f.properties.code, f); });
        }
      }).addTo(map);
      if (fit && feats.length) { map.fitBounds(layer.getBounds()); }
      P.legend(document.getElementById("legend"), t("ind_" + state.indicator), breaks, digits(),
               [[P.SUPPRESSED, t("suppressed")], [P.NODATA, t("no_value")]], {method: state.method});
      // four columns that fit the panel: the full code (it may break after its kelurahan part), the name whole on
      // one line with an RT's kelurahan under it, the figure, the families
      var columns = [{key: "code", label: t("code"), render: function (r) { return P.code(r.code); }},
                     {key: "name", label: t("name"), render: function (r) { return P.area(r.name, r.kelurahan); }},
                     {key: "value", label: t("ind_" + state.indicator), digits: digits()},
                     {key: "families", label: t("families"), digits: 0}];
      P.table(document.getElementById("table"), columns, rows, function (code) {
        select(code, feats.filter(function (f) { return f.properties.code === code; })[0]);
      }, {label: t("table_areas"), state: sort});
      document.getElementById("csv").onclick = function () {
        P.csv("peta-kemiskinan-" + level + ".csv", [{key: "code"}, {key: "name"}].concat(level === "rt" ? [{key: "kelurahan"}] : [],
              [{key: "value"}, {key: "families"},
              {key: "people"}, {key: "poor_bps_families"}, {key: "poverty_rate_pct"}]), rows);
      };
      crumbs();
      P.status("");
      document.body.dataset.level = level;
      document.body.dataset.features = String(feats.length);
      P.mark("ready" + level.charAt(0).toUpperCase() + level.slice(1));
    }).catch(function (err) {
      P.status(t("failed") + ": " + err.message, "error");
      console.warn(err);
    });
  }

  document.getElementById("print").onclick = function () { window.print(); };
  document.getElementById("image").onclick = function () { P.saveImage("peta-kemiskinan.png"); };
  document.getElementById("info").textContent = t("click_hint");
  draw(true);
}
