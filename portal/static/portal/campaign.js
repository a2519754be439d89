/* Celah Cakupan and Penugasan: the RTs of a campaign coloured by coverage or priority, unassigned priority
   RTs outlined; on Penugasan, RTs are selected (click, Shift-drag a box, the lasso, the table) and assigned to
   a verifier, or the automatic proposal is previewed, adjusted (click an RT to give it to the chosen verifier)
   and accepted. Everything goes through /api/v1 with the person's own rights. */
function PETA_PAGE() {
  "use strict";
  var t = P.t, map = P.map(), assignMode = window.PETA.mode === "assign";
  var user = window.PETA.user || {role: "anonymous", scope: []};
  var staff = user.role === "admin" || user.role === "coordinator";
  var q = new URLSearchParams(location.search);
  var home = (user.role === "coordinator" && user.scope.length) ? user.scope[0] : "";
  var state = {campaign: q.get("campaign"), kec: q.get("kec") !== null ? q.get("kec") : home.slice(0, 8),
               kel: q.get("kel") !== null ? q.get("kel") : (home.length >= 13 ? home.slice(0, 13) : ""),
               colour: q.get("colour") || "coverage", only: q.get("only") === "1"};
  var rts = null, cov = {}, prio = {}, owner = {}, by = {}, selected = {}, proposal = null, layer = null, shown = [];
  var kelurahan = {};  // kelurahan code -> name: an RT's name ("RT 007") repeats in every kelurahan
  // the table's order, kept while RTs are selected and data reloads
  var sort = {key: staff ? "priority" : "coverage_pct", dir: staff ? -1 : 1, row: null};
  var VERIFIER_COLOURS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"];
  var COVERAGE_BREAKS = [20, 40, 60, 80];
  var panel = document.getElementById("panel");
  P.i18n(panel);
  var el = function (id) { return document.getElementById(id); };
  // on Penugasan how to select is said once, above the selection; this box shows the figures of the RT clicked
  el("info").textContent = t(assignMode ? "rt_figures_here" : "click_rt");

  var options = P.options;
  var colours = [["coverage", t("coverage_pct")]];
  if (staff) { colours.push(["priority", t("priority")]); }
  options(el("colour"), colours, state.colour);
  el("only").checked = state.only;

  function remember() {
    var p = new URLSearchParams({campaign: state.campaign || "", kec: state.kec, kel: state.kel, colour: state.colour,
                                 only: state.only ? "1" : "0", lang: window.PETA.lang});
    history.replaceState(null, "", "?" + p.toString());
  }

  function parentCode() { return state.kel || state.kec || ""; }

  function loadAreas() {
    return Promise.all([P.api("/api/v1/areas?level=kecamatan&limit=100"), P.api("/api/v1/areas?level=kelurahan&limit=1000")])
      .then(function (res) {
        options(el("kec"), [["", t("all")]].concat(res[0].features.map(function (f) {
          return [f.properties.code, f.properties.name]; })), state.kec);
        res[1].features.forEach(function (f) { kelurahan[f.properties.code] = f.properties.name; });
        var kels = res[1].features.filter(function (f) { return !state.kec || f.properties.code.indexOf(state.kec + ".") === 0; });
        options(el("kel"), [["", t("all")]].concat(kels.map(function (f) {
          return [f.properties.code, f.properties.name]; })), state.kel);
      });
  }

  function loadRts() {
    var parent = parentCode();
    return P.api("/api/v1/areas?level=rt&limit=10000&simplify=3" + (parent ? "&parent=" + parent : ""))
      .then(function (fc) { rts = fc; });
  }

  function loadCampaign() {
    var c = state.campaign, parent = parentCode();
    var jobs = [P.api("/api/v1/campaigns/" + c + "/coverage?level=rt" + (parent ? "&parent=" + parent : ""))];
    if (staff) {
      jobs.push(P.api("/api/v1/campaigns/" + c + "/priorities?limit=5000"));
      jobs.push(P.api("/api/v1/campaigns/" + c + "/assignments"));
    }
    if (assignMode) {
      jobs.push(P.api("/api/v1/campaigns/" + c + "/verifiers"));
      jobs.push(P.api("/api/v1/campaigns/" + c + "/workload"));
    }
    return Promise.all(jobs).then(function (res) {
      cov = {}; prio = {}; owner = {}; by = {};
      res[0].forEach(function (r) { cov[r.code] = r; });
      if (staff) {
        res[1].forEach(function (r) { prio[r.code] = r; });
        res[2].forEach(function (a) {
          if (a.kind === "visit" && a.household_id === null && a.active) {
            owner[a.rt_code] = a.verifier;
            by[a.rt_code] = a.assigned_by;
          }
        });
      }
      if (assignMode) {
        var current = el("verifier").value;
        options(el("verifier"), res[3].map(function (v) { return [v.username, v.username + " (" + (v.scope_codes[0] || "") + ")"]; }),
                current || (res[3][0] && res[3][0].username));
        el("workload").innerHTML = "<b>" + P.esc(t("workload")) + "</b>" + (res[4].map(function (w) {
          return "<div data-verifier='" + P.esc(w.verifier) + "'>" + P.esc(w.verifier) + ": " + P.fmt(w.rts, 0) + " RT, " +
                 P.fmt(w.families_to_verify, 0) + " " + P.esc(t("families").toLowerCase()) + "</div>";
        }).join("") || "<div class='empty'>" + P.esc(t("no_workload")) + "</div>");
      }
    });
  }

  function priorityRt(code) {
    var c = cov[code];
    return !!(c && c.unassigned_targets > 0 && !owner[code]);
  }

  function verifierColour(name) {
    var names = Object.keys(proposal || {}).map(function (k) { return proposal[k]; }).filter(function (v, i, a) { return a.indexOf(v) === i; }).sort();
    return VERIFIER_COLOURS[names.indexOf(name) % VERIFIER_COLOURS.length];
  }

  function style(f) {
    var code = f.properties.code, c = cov[code], fill = P.NODATA;
    if (proposal && proposal[code]) {
      fill = verifierColour(proposal[code]);
    } else if (state.colour === "priority") {
      var p = prio[code];
      fill = p ? P.PALETTE[P.classOf(p.priority, priorityBreaks)] : P.NODATA;
    } else if (c && c.targets) {
      fill = c.coverage_pct === null ? P.SUPPRESSED : P.PALETTE[4 - P.classOf(c.coverage_pct, COVERAGE_BREAKS)];
    } else if (c && c.targets === null) {
      fill = P.SUPPRESSED;
    }
    var s = {fillColor: fill, fillOpacity: 0.7, color: "#777", weight: 0.5, dashArray: null};
    if (owner[code]) { s.color = "#2e7d32"; s.weight = 2; s.dashArray = "4 3"; }
    if (priorityRt(code)) { s.color = "#1565c0"; s.weight = 2.5; }
    if (selected[code]) { s.color = "#000"; s.weight = 3.5; s.dashArray = null; }
    return s;
  }
  var priorityBreaks = [], PRIORITY_METHOD = "zero_jenks";

  /* what the map draws: the fill classes, the verifiers' colours while a proposal is shown, the outlines */
  function legend() {
    var box = el("legend"), outlines = [["#1565c0", false, t("outline_priority")], ["#2e7d32", true, t("outline_assigned")]];
    if (assignMode) { outlines.push(["#000", false, t("outline_selected")]); }
    var fills = state.colour === "priority" ? {title: t("priority"), breaks: priorityBreaks, digits: 1,
                                                extra: [[P.NODATA, t("no_value")]], more: {method: PRIORITY_METHOD}}
              : {title: t("coverage_pct"), breaks: COVERAGE_BREAKS, digits: 0,
                 extra: [[P.SUPPRESSED, t("suppressed")], [P.NODATA, t("no_value")]],
                 more: {palette: P.PALETTE.slice().reverse()}};
    fills.more.outlines = outlines;
    var counts = {};
    Object.keys(proposal || {}).forEach(function (c) { counts[proposal[c]] = (counts[proposal[c]] || 0) + 1; });
    var names = Object.keys(counts).sort();
    P.legend(box, (names.length ? t("other_rts") + ": " : "") + fills.title, fills.breaks, fills.digits, fills.extra,
             fills.more);
    box.dataset.proposal = String(names.length);
    if (names.length) {
      box.insertAdjacentHTML("afterbegin", "<b>" + P.esc(t("proposal_colours")) + "</b>" + names.map(function (n) {
        return P.swatch(n + ": " + P.fmt(counts[n], 0) + " RT", verifierColour(n));
      }).join(""));
    }
  }

  function describe(code) {
    var c = cov[code] || {}, p = prio[code] || {};
    var lines = [["code", code], ["kelurahan", kelurahan[code.slice(0, 13)] || "–"], ["targets", P.fmt(c.targets, 0)],
                 ["verified", P.fmt(c.verified, 0)],
                 ["coverage_pct", P.fmt(c.coverage_pct, 1)], ["unassigned", P.fmt(c.unassigned_targets, 0)]];
    if (staff) { lines.push(["priority", P.fmt(p.priority, 1)]); }
    if (owner[code]) { lines.push(["assigned_to", owner[code]]); }
    if (proposal && proposal[code]) { lines.push(["propose", proposal[code]]); }
    el("info").innerHTML = "<b data-code='" + P.esc(code) + "'>" + P.esc(c.name || code) + "</b>" + P.facts(lines);
    document.body.dataset.selected = code;
  }

  function toggle(code) {
    if (proposal) {  // adjusting the proposal: the RT goes to the verifier chosen in the list
      proposal[code] = el("verifier").value;
    } else if (selected[code]) {
      delete selected[code];
    } else if (cov[code]) {
      selected[code] = true;
    }
    refresh();
  }

  function refresh() {
    if (layer) { layer.setStyle(style); }
    legend();
    var n = Object.keys(selected).length;
    if (el("selection")) {
      el("selection").textContent = n + " " + t("selected");
      document.body.dataset.selectedCount = String(n);
    }
    table();
  }

  function table() {
    var rows = shown.map(function (f) {
      var code = f.properties.code, c = cov[code] || {}, p = prio[code] || {};
      return {code: code, kelurahan: kelurahan[code.slice(0, 13)] || "", name: f.properties.name, targets: c.targets,
              verified: c.verified, coverage_pct: c.coverage_pct,
              unassigned: c.unassigned_targets, priority: p.priority === undefined ? null : p.priority,
              verifier: (proposal && proposal[code]) || owner[code] || "",
              _class: selected[code] ? "selected" : owner[code] ? "assigned" : "",
              _selected: assignMode ? !!selected[code] : undefined};
    });
    // columns that fit the panel without scrolling sideways: the RT (its name whole, its kelurahan and full code
    // under it), its targets, coverage and unassigned targets (and for staff its priority and verifier); the rest of
    // its figures show when it is chosen
    var columns = [{key: "code", label: t("rt"), render: function (r) { return P.area(r.name, r.kelurahan, r.code); }},
                   {key: "targets", label: t("targets"), digits: 0}, {key: "coverage_pct", label: t("coverage_pct"), digits: 1},
                   {key: "unassigned", label: t("unassigned"), digits: 0}];
    if (staff) {
      columns.push({key: "priority", label: t("priority"), digits: 1});
      columns.push({key: "verifier", label: t("verifier"), render: function (r) { return P.esc(r.verifier); }});
    }
    P.table(el("table"), columns, rows, function (code) {
      describe(code);
      if (assignMode) { toggle(code); }
    }, {label: t("table_rts"), state: sort});
    el("csv") && (el("csv").onclick = function () {
      P.csv("celah-cakupan.csv", [{key: "code"}, {key: "kelurahan"}, {key: "name"}, {key: "targets"}, {key: "verified"},
            {key: "coverage_pct"}, {key: "unassigned"}, {key: "priority"}, {key: "verifier"}], rows);
    });
  }

  function render(fit) {
    if (layer) { map.removeLayer(layer); }
    var values = Object.keys(prio).map(function (k) { return prio[k].priority; });
    priorityBreaks = P.classify(values, PRIORITY_METHOD, 5);
    shown = rts.features.filter(function (f) { return !state.only || priorityRt(f.properties.code); });
    layer = L.geoJSON({type: "FeatureCollection", features: shown}, {
      style: style,
      onEachFeature: function (f, l) {
        var code = f.properties.code;
        l.bindTooltip(function () {
          var c = cov[code] || {};
          return "<b>" + P.esc(f.properties.name) + ", " + P.esc(kelurahan[code.slice(0, 13)] || "") + "</b> " +
                 P.esc(code) + "<br>" + P.esc(t("coverage_pct")) + ": " +
                 P.fmt(c.coverage_pct, 1) + (owner[code] ? "<br>" + P.esc(t("assigned_to")) + " " + P.esc(owner[code]) : "");
        }, {sticky: true});
        l.on("click", function () {
          if (lasso.on || Date.now() - lasso.ended < 400) { return; }  // the click that drew a lasso's corner
          describe(code);
          if (assignMode) { toggle(code); }
        });
      }
    }).addTo(map);
    if (fit && shown.length) { map.fitBounds(layer.getBounds()); }
    refresh();
    document.body.dataset.features = String(shown.length);
    P.mark("readyCampaign");
  }

  function reload(fit) {
    P.status(t("loading"));
    remember();
    return Promise.all([loadRts(), loadCampaign()]).then(function () { P.status(""); render(fit); })
      .catch(function (err) { P.status(t("failed") + ": " + err.message, "error"); console.warn(err); });
  }

  /* every RT drawn on the map whose centre (the centre of its bounding box as drawn) passes `test` is selected:
     the one rule of the box and the lasso */
  function selectWhere(test) {
    if (!layer) { return; }  // nothing drawn yet
    layer.eachLayer(function (l) {
      var code = l.feature.properties.code;
      if (test(l.getBounds().getCenter()) && cov[code]) { selected[code] = true; }
    });
    refresh();
  }

  /* whether a point lies inside a ring of LatLngs (even-odd rule; the last corner joins the first) */
  function insideRing(pt, ring) {
    var hit = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var a = ring[i], b = ring[j];
      if ((a.lat > pt.lat) !== (b.lat > pt.lat) &&
          pt.lng < (b.lng - a.lng) * (pt.lat - a.lat) / (b.lat - a.lat) + a.lng) { hit = !hit; }
    }
    return hit;
  }

  /* the lasso: once its button is pressed, a free polygon drawn by dragging (mouse, pen or finger) or by clicking
     or tapping its corners; letting go of the drag, clicking the first corner again, a double click or Enter
     closes it and selects every RT whose centre lies inside; Escape (or the button again) cancels */
  var lasso = {on: false, pts: [], down: null, free: false, shape: null, ended: 0};
  function lassoDraw(extra) {
    var pts = extra ? lasso.pts.concat([extra]) : lasso.pts;
    if (lasso.shape) { lasso.shape.setLatLngs(pts); return; }
    lasso.shape = L.polygon(pts, {color: "#000", weight: 2, dashArray: "6 4", fillColor: "#000", fillOpacity: 0.08,
                                  interactive: false}).addTo(map);
  }
  function lassoSet(on) {
    if (lasso.shape) { map.removeLayer(lasso.shape); lasso.shape = null; }
    if (lasso.on && !on) { lasso.ended = Date.now(); }
    lasso.on = on; lasso.pts = []; lasso.down = null; lasso.free = false;
    el("lasso").setAttribute("aria-pressed", on ? "true" : "false");
    map.getContainer().classList.toggle("lasso-on", on);
    if (on) { map.dragging.disable(); map.doubleClickZoom.disable(); } else { map.dragging.enable(); map.doubleClickZoom.enable(); }
    document.body.dataset.lasso = on ? "on" : "off";
  }
  function lassoClose() {
    var ring = lasso.pts.slice();
    lassoSet(false);
    if (ring.length < 3) { P.status(t("lasso_cancelled")); return; }
    var before = Object.keys(selected).length;
    selectWhere(function (c) { return insideRing(c, ring); });
    P.status(P.fill(t("lasso_done"), {n: P.fmt(Object.keys(selected).length - before, 0)}), "ok");
  }
  function lassoEvents() {
    var box = map.getContainer();
    var at = function (ev) { return map.mouseEventToContainerPoint(ev); };
    var near = function (p, ll, px) { return p.distanceTo(map.latLngToContainerPoint(ll)) <= px; };
    // capture phase: the map's own handlers (an RT's click, dragging) never see a pointer that draws
    box.addEventListener("pointerdown", function (ev) {
      if (!lasso.on || ev.button > 0 || (ev.target.closest && ev.target.closest(".leaflet-control"))) { return; }
      ev.preventDefault();
      ev.stopPropagation();
      lasso.down = at(ev);
      if (box.setPointerCapture) { box.setPointerCapture(ev.pointerId); }
    }, true);
    box.addEventListener("pointermove", function (ev) {
      if (!lasso.on) { return; }
      ev.stopPropagation();
      var p = at(ev);
      if (lasso.down && !lasso.free && !lasso.pts.length && p.distanceTo(lasso.down) > 6) {
        lasso.free = true;  // a drag: drawn freehand from where it started
        lasso.pts = [map.containerPointToLatLng(lasso.down)];
      }
      if (lasso.free) {
        if (!near(p, lasso.pts[lasso.pts.length - 1], 3)) { lasso.pts.push(map.containerPointToLatLng(p)); }
        lassoDraw();
      } else if (lasso.pts.length) {
        lassoDraw(map.containerPointToLatLng(p));  // the corners so far, and the edge to the pointer
      }
    }, true);
    box.addEventListener("pointerup", function (ev) {
      if (!lasso.on || !lasso.down) { return; }
      ev.stopPropagation();
      var p = at(ev), pts = lasso.pts;
      lasso.down = null;
      if (lasso.free) { lassoClose(); return; }
      if (pts.length >= 3 && (near(p, pts[0], 10) || near(p, pts[pts.length - 1], 6))) { lassoClose(); return; }
      pts.push(map.containerPointToLatLng(p));
      lassoDraw();
    }, true);
    ["click", "dblclick", "mousedown", "mouseup"].forEach(function (type) {
      box.addEventListener(type, function (ev) {
        if (lasso.on || Date.now() - lasso.ended < 400) { ev.stopPropagation(); }
      }, true);
    });
    document.addEventListener("keydown", function (ev) {
      if (!lasso.on) { return; }
      if (ev.key === "Escape") {
        ev.preventDefault();
        lassoSet(false);
        P.status(t("lasso_cancelled"));
      } else if (ev.key === "Enter" && lasso.pts.length >= 3) {
        ev.preventDefault();
        lassoClose();
      }
    });
    el("lasso").onclick = function () {
      lassoSet(!lasso.on);
      P.status(lasso.on ? t("lasso_on") : t("lasso_cancelled"));
    };
  }


  /* Shift + drag: a box; every RT whose centre lies in it is selected */
  if (assignMode) {
    map.boxZoom.disable();
    lassoEvents();
    document.body.dataset.lasso = "off";
    var start = null, box = null;
    map.on("mousedown", function (e) {
      if (!e.originalEvent.shiftKey || lasso.on) { return; }
      start = e.latlng;
      map.dragging.disable();
    });
    map.on("mousemove", function (e) {
      if (!start) { return; }
      var b = L.latLngBounds(start, e.latlng);
      if (box) { box.setBounds(b); } else { box = L.rectangle(b, {color: "#000", weight: 1, dashArray: "4 4", fill: false}).addTo(map); }
    });
    map.on("mouseup", function (e) {
      if (!start) { return; }
      var b = L.latLngBounds(start, e.latlng);
      start = null;
      map.dragging.enable();
      if (box) { map.removeLayer(box); box = null; }
      selectWhere(function (c) { return b.contains(c); });
    });
    var due = new Date(Date.now() + 14 * 86400000);
    el("due").value = due.toISOString().slice(0, 10);
    el("clear").onclick = function () { selected = {}; proposal = null; el("accept").disabled = true; refresh(); };
    el("assign").onclick = function () {
      var codes = Object.keys(selected);
      if (!codes.length) { P.status(t("select_hint"), "error"); return; }
      P.api("/api/v1/campaigns/" + state.campaign + "/assignments", {method: "POST",
            body: {rt_codes: codes, verifier: el("verifier").value, due_on: el("due").value}})
        .then(function (made) {
          selected = {};
          P.status(t("assigned_ok") + ": " + made.length + " RT → " + el("verifier").value, "ok");
          return loadCampaign().then(function () { render(false); });
        })
        .catch(function (err) {
          document.body.dataset.conflict = err.status === 409 ? "1" : "";
          if (err.status !== 409) { P.status(err.message, "error"); return; }
          conflict(codes, err);
        });
    };
    el("propose").onclick = function () {
      var codes = Object.keys(selected).filter(priorityRt);  // only RTs that still need someone
      P.status(t("loading"));
      P.api("/api/v1/campaigns/" + state.campaign + "/proposal", {method: "POST", body: codes.length ? {rt_codes: codes} : {}})
        .then(function (plan) {
          proposal = {};
          plan.verifiers.forEach(function (v) { v.rt_codes.forEach(function (c) { proposal[c] = v.verifier; }); });
          P.status(summary(plan.summary), "ok");
          el("accept").disabled = Object.keys(proposal).length === 0;
          refresh();
        })
        .catch(function (err) { P.status(err.message, "error"); });
    };
    el("accept").onclick = function () {
      var plan = Object.keys(proposal || {}).map(function (c) { return {rt_code: c, verifier: proposal[c]}; });
      P.api("/api/v1/campaigns/" + state.campaign + "/proposal/accept", {method: "POST", body: {due_on: el("due").value, plan: plan}})
        .then(function (made) {
          proposal = null; selected = {};
          el("accept").disabled = true;
          P.status(t("assigned_ok") + ": " + made.length + " RT", "ok");
          return loadCampaign().then(function () { render(false); });
        })
        .catch(function (err) {
          if (err.status !== 409) { P.status(err.message, "error"); return; }
          conflict(plan.map(function (p) { return p.rt_code; }), err);
        });
    };
  }

  /* the proposal's summary as a sentence in the interface language, numbers with the locale's separators */
  function summary(s) {
    var n = function (v, d) { return P.fmt(v, d === undefined ? 0 : d); };
    var text = P.fill(t("proposal_summary"), {rts: n(s.rts), families: n(s.families), used: n(s.verifiers_used),
                                              verifiers: n(s.verifiers), smallest: n(s.smallest_used_workload),
                                              largest: n(s.largest_workload), km: n(s.travel_km, 1)});
    return s.rts_left_out ? text + " " + P.fill(t("proposal_left_out"), {rts: n(s.rts_left_out)}) : text;
  }

  /* a 409: the RTs were taken meanwhile. The assignments read again say by whom: this person (another tab, an
     earlier click) or someone else */
  function conflict(codes, err) {
    return loadCampaign().then(function () {
      var mine = [], others = [];
      codes.forEach(function (c) {
        if (!owner[c]) { return; }
        delete selected[c];  // taken: no longer to assign
        var self = by[c] === "user:" + user.username;  // the actor as the API records it (core.principal)
        (self ? mine : others).push(c + " → " + owner[c] + (self ? "" : " (" + String(by[c]).replace(/^user:/, "") + ")"));
      });
      var parts = [];
      if (mine.length) { parts.push(t("conflict_self") + ": " + mine.join(", ")); }
      if (others.length) { parts.push(t("conflict") + ": " + others.join(", ")); }
      if (!parts.length) { parts.push(t("conflict") + ": " + err.message); }
      render(false);
      P.status(parts.join("; "), "error");
      document.body.dataset.conflict = mine.length && !others.length ? "self" : "other";
    }).catch(function () { P.status(t("conflict") + ": " + err.message, "error"); });
  }

  el("campaign").addEventListener("change", function () { state.campaign = el("campaign").value; reload(false); });
  el("kec").addEventListener("change", function () { state.kec = el("kec").value; state.kel = ""; loadAreas().then(function () { reload(true); }); });
  el("kel").addEventListener("change", function () { state.kel = el("kel").value; reload(true); });
  el("colour").addEventListener("change", function () { state.colour = el("colour").value; remember(); render(false); });
  el("only").addEventListener("change", function () { state.only = el("only").checked; remember(); render(false); });

  P.api("/api/v1/campaigns").then(function (list) {
    if (!list.length) { P.status(t("no_campaign")); P.mark("readyCampaign"); return; }
    if (!state.campaign || !list.some(function (c) { return String(c.id) === String(state.campaign); })) { state.campaign = list[0].id; }
    options(el("campaign"), list.map(function (c) { return [c.id, c.name]; }), state.campaign);
    return loadAreas().then(function () { return reload(true); });
  }).catch(function (err) { P.status(t("failed") + ": " + err.message, "error"); });
}
