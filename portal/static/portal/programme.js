/* Peta Program: a programme's inclusion and exclusion errors (and its recipients and eligible families) per
   kecamatan, kelurahan or RT for a period, as a choropleth with a legend and a table; Dinsos coordinators also get
   their work list with each family's reasons and proposed action. Layers: /api/v1/areas joined in the browser with
   /api/v1/programmes/{code}/errors (exact counts of the caller's area for Dinsos staff; published figures, with
   cell-key noise and 1-4 hidden, for everyone else) and /api/v1/programmes/{code}/errors/families. */
function PETA_PAGE() {
  "use strict";
  var t = P.t, map = P.map(), cfg = window.PETA;
  var LEVELS = ["kecamatan", "kelurahan", "rt"];
  var SIMPLIFY = {kecamatan: 20, kelurahan: 8, rt: 3};
  var MEASURES = ["inclusion", "exclusion", "recipients", "eligible"];
  var progs = cfg.programmes || [];
  var query = new URLSearchParams(location.search);
  P.i18n(document.getElementById("panel"));
  if (!progs.length) {
    P.status(t("prog_none"), "error");
    P.mark("readyProgramme");
    return;
  }
  function prog(code) { return progs.filter(function (p) { return p.code === code; })[0] || progs[0]; }
  var first = prog(query.get("programme"));
  var state = {
    code: first.code,
    period: query.get("period") || first.period,
    level: LEVELS.indexOf(query.get("level")) >= 0 ? query.get("level") : "rt",
    measure: MEASURES.indexOf(query.get("measure")) >= 0 ? query.get("measure") : "inclusion",
    method: P.METHODS.some(function (m) { return m[0] === query.get("method"); }) ? query.get("method") : P.METHODS[0][0],
    area: null
  };
  var areas = {}, layer = null, rows = [], sort = {key: "value", dir: -1, row: null}, workSort = {key: null, dir: 1, row: null};
  var progSel = document.getElementById("programme"), periodIn = document.getElementById("period");
  var levelSel = document.getElementById("level"), measureSel = document.getElementById("measure");
  var methodSel = document.getElementById("method");
  P.options(progSel, progs.map(function (p) { return [p.code, p.name + " (" + p.code + ")"]; }), state.code);
  P.options(levelSel, LEVELS.map(function (l) { return [l, t(l)]; }), state.level);
  P.options(measureSel, MEASURES.map(function (m) { return [m, t("prog_" + m)]; }), state.measure);
  P.options(methodSel, P.METHODS.map(function (m) { return [m[0], t(m[1])]; }), state.method);
  periodIn.value = state.period;
  function hint() {
    var p = prog(state.code);
    document.getElementById("period-hint").textContent = P.fill(t("prog_period_hint"), {example: p.example});
    periodIn.setAttribute("pattern", p.pattern);
  }
  hint();
  progSel.addEventListener("change", function () {
    state.code = progSel.value;
    state.period = prog(state.code).period;  // each programme has its own period form
    periodIn.value = state.period;
    hint();
    draw(true);
  });
  levelSel.addEventListener("change", function () { state.level = levelSel.value; state.area = null; draw(true); });
  measureSel.addEventListener("change", function () { state.measure = measureSel.value; draw(false); });
  methodSel.addEventListener("change", function () { state.method = methodSel.value; draw(false); });
  document.getElementById("choice").addEventListener("submit", function (ev) {
    ev.preventDefault();
    state.period = periodIn.value.trim();
    state.area = null;
    draw(false);
  });

  var city = cfg.kota ? "&parent=" + encodeURIComponent(cfg.kota) : "";
  function boundaries(level) {
    if (!areas[level]) {
      areas[level] = P.api("/api/v1/areas?level=" + level + "&limit=10000&simplify=" + SIMPLIFY[level] + city);
    }
    return areas[level];
  }
  function base() {
    return "/api/v1/programmes/" + encodeURIComponent(state.code) + "/errors";
  }
  function hidden(fig) { return !!(fig && fig.suppressed && fig.suppressed.indexOf(state.measure) >= 0); }
  function value(fig) { return fig ? fig[state.measure] : null; }

  function classes(values) { return P.classify(values, state.method, 5); }

  function draw(fit) {
    P.status(t("loading"));
    var params = new URLSearchParams({programme: state.code, period: state.period, level: state.level,
                                      measure: state.measure, method: state.method, lang: cfg.lang});
    if (cfg.kota) { params.set("kota", cfg.kota); }
    history.replaceState(null, "", "?" + params.toString());
    var level = state.level, code = state.code, period = state.period;
    var counts = base() + "?period=" + encodeURIComponent(period) + "&level=" + level + city;
    // at RT level the kelurahan's names: "RT 001" repeats in every kelurahan
    Promise.all([boundaries(level), P.api(counts), level === "rt" ? boundaries("kelurahan") : null]).then(function (res) {
      if (level !== state.level || code !== state.code || period !== state.period) { return; }
      var figures = {}, kel = {};
      (res[2] ? res[2].features : []).forEach(function (f) { kel[f.properties.code] = f.properties.name; });
      res[1].areas.forEach(function (a) { figures[a.code] = a; });
      var feats = res[0].features.filter(function (f) { return figures[f.properties.code]; });
      var values = feats.map(function (f) { var g = figures[f.properties.code]; return hidden(g) ? null : value(g); });
      var breaks = classes(values);
      rows = feats.map(function (f, i) {
        var g = figures[f.properties.code];
        return {code: f.properties.code, name: f.properties.name, kelurahan: level === "rt" ? kel[f.properties.code.slice(0, 13)] || "" : "",
                value: values[i], hidden: hidden(g),
                recipients: g.recipients, eligible: g.eligible, inclusion: g.inclusion, exclusion: g.exclusion,
                _class: hidden(g) ? "suppressed" : ""};
      });
      if (layer) { map.removeLayer(layer); }
      layer = L.geoJSON({type: "FeatureCollection", features: feats}, {
        style: function (f) {
          var g = figures[f.properties.code], v = value(g);
          var fill = hidden(g) ? P.SUPPRESSED : (v === null || v === undefined) ? P.NODATA : P.PALETTE[P.classOf(v, breaks)];
          return {fillColor: fill, fillOpacity: 0.75, color: "#555", weight: level === "rt" ? 0.4 : 1,
                  dashArray: hidden(g) ? "3 3" : null};
        },
        onEachFeature: function (f, l) {
          var g = figures[f.properties.code];
          var k = level === "rt" ? kel[f.properties.code.slice(0, 13)] : "";
          l.bindTooltip("<b>" + P.esc(f.properties.name) + (k ? ", " + P.esc(k) : "") + "</b><br>" + P.esc(t("prog_" + state.measure)) + ": " +
                        (hidden(g) ? P.esc(t("suppressed")) : P.fmt(value(g), 0)), {sticky: true});
          l.on("click", function () { choose(f.properties.code); });
        }
      }).addTo(map);
      if (fit && feats.length) { map.fitBounds(layer.getBounds()); }
      var title = t("prog_" + state.measure) + " · " + code + " " + period;
      P.legend(document.getElementById("legend"), title, breaks, 0,
               [[P.SUPPRESSED, t("suppressed")], [P.NODATA, t("no_value")]], {method: state.method});
      document.getElementById("disclosure").textContent = t(res[1].published ? "prog_published" : "prog_exact");
      // five columns that fit the panel: the area (its name whole, an RT's kelurahan and the full code under it), the
      // four counts under short headers (the full words in each header's name)
      var columns = [{key: "code", label: t("area"), render: function (r) { return P.area(r.name, r.kelurahan, r.code); }}]
        .concat(MEASURES.map(function (m) { return {key: m, label: t("prog_" + m + "_short"), title: t("prog_" + m), digits: 0}; }));
      P.table(document.getElementById("table"), columns, rows, function (c) { choose(c); },
              {label: t("table_areas"), state: sort});
      document.getElementById("csv").onclick = function () {
        P.csv("program-" + code + "-" + period + "-" + level + ".csv",
              [{key: "code"}, {key: "name"}].concat(level === "rt" ? [{key: "kelurahan"}] : [], MEASURES.map(function (m) { return {key: m}; })), rows);
      };
      document.body.dataset.level = level;
      document.body.dataset.features = String(feats.length);
      document.body.dataset.published = String(res[1].published);
      P.status("");
      P.mark("readyProgramme");
      return cfg.work ? work() : null;
    }).catch(function (err) {
      P.status(t("failed") + ": " + err.message, "error");
      P.mark("readyProgramme");
      console.warn(err);
    });
  }

  function choose(code) {
    var r = rows.filter(function (x) { return x.code === code; })[0];
    var el = document.getElementById("info");
    if (!r) { return; }
    el.innerHTML = "<b data-code='" + P.esc(r.code) + "'>" + P.esc(r.name) + "</b>" + P.facts(MEASURES.map(function (m) {
      return ["prog_" + m, r[m] === null || r[m] === undefined ? t("suppressed") : P.fmt(r[m], 0)];
    }));
    document.body.dataset.selected = r.code;
    if (cfg.work) {
      state.area = code;
      work();
    }
  }

  /* the coordinator's work list (their area, or the area chosen on the map): reasons and actions in words */
  function reason(r) {
    var v = {date: r.date, value: r.value, limit: r.limit, months: r.months, cutoff: r.cutoff, criterion: r.criterion,
             which: t(r.desil === "local" ? "prog_desil_local" : "prog_desil_official"),
             result: t("prog_hasil_" + r.result), allowed: (r.allowed || []).join(", ")};
    var template = t("prog_reason_" + r.code);
    return template === "prog_reason_" + r.code ? r.text : P.fill(template, v);
  }
  function work() {
    var section = document.getElementById("work");
    section.hidden = false;
    var url = base() + "/families?period=" + encodeURIComponent(state.period) + "&limit=500" +
              (state.area ? "&area=" + encodeURIComponent(state.area) : "");
    return P.api(url).then(function (out) {
      document.getElementById("work-note").textContent = P.fill(t("prog_work_count"), {shown: out.items.length,
                                                                total: out.total, area: state.area || t("prog_your_area")});
      var items = out.items.map(function (i) {
        return {code: i.household_id, rt: i.rt_code, head: i.nama_kepala, kind: t("prog_kind_" + i.kind),
                reasons: i.reasons.map(reason).join("; "), action: t("prog_action_" + i.action)};
      });
      var lang = encodeURIComponent(cfg.lang);
      P.table(document.getElementById("work-table"), [
        {key: "rt", label: t("rt"), render: function (r) { return P.esc(r.rt); }},
        {key: "head", label: t("prog_head"), render: function (r) {
          return "<a href='/portal/keluarga/" + encodeURIComponent(r.code) + "?lang=" + lang + "'>" + P.esc(r.head || "–") + "</a>";
        }},
        {key: "kind", label: t("prog_kind"), render: function (r) { return P.esc(r.kind); }},
        {key: "reasons", label: t("prog_reasons"), render: function (r) { return P.esc(r.reasons); }},
        {key: "action", label: t("prog_action"), render: function (r) { return P.esc(r.action); }}
      ], items, null, {label: t("table_work"), state: workSort});
      document.body.dataset.work = String(items.length);
      P.mark("readyWork");
    }).catch(function (err) {
      P.status(t("failed") + ": " + err.message, "error");
      P.mark("readyWork");
    });
  }

  document.getElementById("info").textContent = t("prog_click_hint");
  draw(true);
}
