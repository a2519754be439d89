/* Tinjau Kunjungan: a campaign's visits (awaiting a decision by default, flagged first), each with its
   objectivity flags explained; a visit opened shows, on the map, where it was recorded beside the family's
   registered point, the line between them with its length, and the family's RT outline, and in the panel the
   photos of the house; approve (the registry, ranking and figures follow) or return with a reason. Where approval
   takes two steps, each visit shows the step it awaits, and only the person who may take it (the API's may_decide:
   a head of office other than its checker for the second) is offered the step's buttons. */
function PETA_PAGE() {
  "use strict";
  var t = P.t, map = P.map(), el = function (id) { return document.getElementById(id); };
  var q = new URLSearchParams(location.search);
  var state = {campaign: q.get("campaign"), status: q.get("status") || "submitted", flagged: q.get("flagged") === "1"};
  var layer = L.layerGroup().addTo(map), chosen = L.layerGroup().addTo(map), visits = [], outlines = {};
  var SAME = 5;  // metres: closer than this, the visit was made at the family's point
  var VISIT = "#bd0026", CLEAN = "#1b9e77", FAMILY = "#1565c0", LINE = "#243b55", RT = "#000000";
  var sort = {key: "n_flags", dir: -1, row: null};  // flagged first; kept across reloads
  P.i18n(el("panel"));
  P.options(el("state"), [["submitted", t("submitted")], ["checked", t("checked")], ["approved", t("approved")],
                          ["returned", t("returned")]], state.status);
  el("flagged").checked = state.flagged;

  /* the approval step a visit awaits, in words: only where approval takes two steps */
  function stepText(v) {
    return v.approval_steps === 2 && v.step ? t("step_" + v.step + "_of_2") : "";
  }

  /* what the status column offers: the step's buttons to whoever may take it, otherwise the state and, for a
     visit still awaiting a decision, whose it is */
  function actions(v) {
    if (v.may_decide) {
      var first = v.approval_steps === 2 && v.step === 1;
      return "<button data-approve='" + v.id + "' data-step='" + v.step + "'>" + P.esc(t(first ? "check" : "approve")) +
        "</button> <button data-return='" + v.id + "' data-step='" + v.step + "'>" + P.esc(t("return")) + "</button>" +
        (stepText(v) ? "<div class='hint' data-step-text='" + v.step + "'>" + P.esc(stepText(v)) + "</div>" : "");
    }
    var why = v.refusal && v.refusal !== "not_staff" ? "<div class='hint' data-refusal='" + P.esc(v.refusal) + "'>" +
      P.esc(t("refusal_" + v.refusal)) + "</div>" : "";
    return P.esc(t(v.status)) + why;
  }

  function decide(id, approve) {
    var body = {decision: approve ? "approve" : "return"};
    if (!approve) {
      var reason = window.prompt(t("reason_prompt"));
      if (!reason) { return; }
      body.reason = reason;
    }
    P.api("/api/v1/verifications/" + id + "/decision", {method: "POST", body: body})
      .then(function (v) { P.status("#" + v.id + ": " + t(v.status), "ok"); return load(); })
      .catch(function (err) { P.status(err.message, "error"); });
  }

  /* the RT's outline (from the public boundaries, by its RW: a few RTs), once per RT */
  function outline(code) {
    if (!outlines[code]) {
      outlines[code] = P.api("/api/v1/areas?level=rt&limit=100&parent=" + code.split(".").slice(0, -1).join("."))
        .then(function (fc) { return (fc.features || []).filter(function (f) { return f.properties.code === code; })[0] || null; });
    }
    return outlines[code];
  }

  /* what the map draws for the visit opened, explained: the points it has, the line when it has both, the outline */
  function row(style, text) { return "<div><i aria-hidden='true' style='" + style + "'></i>" + P.esc(text) + "</div>"; }
  function legend(v, at, home, same) {
    var fill = (v.flags || []).length ? VISIT : CLEAN;
    el("legend").innerHTML = "<b>" + P.esc(t("map_legend")) + "</b>" +
      (at ? row("background:" + fill + ";border-radius:50%", t((v.flags || []).length ? "legend_visit_flagged" : "legend_visit")) : "") +
      (home ? row("background:#fff;border:3px solid " + FAMILY + ";border-radius:50%", t("legend_family")) : "") +
      (at && home ? (same ? row("background:" + fill + ";border-radius:50%;margin:0 11px 0 5px;box-shadow:0 0 0 2px #fff,0 0 0 5px " + FAMILY,
                                t("legend_same"))
                          : row("width:18px;height:0;border:0;border-top:3px dashed " + LINE + ";vertical-align:4px", t("legend_line"))) : "") +
      row("background:transparent;border:2px solid " + RT, t("legend_rt"));
    el("legend").dataset.legend = "visit";
  }
  /* no visit open: what the overview's markers mean, or that there is nothing on the map yet; the box that shows a
     visit says how to open one, or that there is nothing to review */
  function overview() {
    var placed = visits.filter(function (v) { return v.lat !== null; });
    var flagged = placed.some(function (v) { return (v.flags || []).length; });
    var clean = placed.some(function (v) { return !(v.flags || []).length; });
    el("legend").innerHTML = "<b>" + P.esc(t("map_legend")) + "</b>" +
      (!placed.length ? "<p class='hint empty'>" + P.esc(t("legend_no_visits")) + "</p>" :
       (flagged ? row("background:" + VISIT + ";border-radius:50%", t("legend_visits_flagged")) : "") +
       (clean ? row("background:" + CLEAN + ";border-radius:50%", t("legend_visits_clean")) : ""));
    el("legend").dataset.legend = "overview";
    if (placed.length) {  // the visits in view (at once: a visit opened next fits the view its own way)
      map.fitBounds(L.latLngBounds(placed.map(function (v) { return [v.lat, v.lon]; })).pad(0.3), {maxZoom: 16, animate: false});
    }
    chosen.clearLayers();
    delete el("info").dataset.visit;
    el("info").innerHTML = "<p class='hint" + (visits.length ? "" : " empty") + "'>" +
      P.esc(t(visits.length ? "review_pick" : "review_nothing")) + "</p>";
  }

  /* each flag once: a flag stored twice (before and after flags had numbers) is shown with the words it has */
  function once(flags) {
    var out = [], at = {};
    (flags || []).forEach(function (f) {
      var words = explain(f);
      if (at[f.code] === undefined) { at[f.code] = out.length; out.push({f: f, words: words}); }
      else if (!out[at[f.code]].words && words) { out[at[f.code]] = {f: f, words: words}; }
    });
    return out;
  }

  function photos(v) {
    var list = v.photos || [];
    if (!list.length) { return "<p class='hint' data-photos='0'>" + P.esc(t("no_photos")) + "</p>"; }
    return "<div class='photos' data-photos='" + list.length + "'>" + list.map(function (sha, i) {
      var url = "/api/v1/verifications/" + v.id + "/photos/" + sha;
      var alt = P.fill(t("photo_alt"), {n: i + 1, of: list.length});
      return "<a href='" + url + "' target='_blank' rel='noopener'><img src='" + url + "' alt='" + P.esc(alt) + "' loading='lazy'></a>";
    }).join("") + "</div>";
  }

  /* a flag explained in the interface language from its code and its numbers (the API's `detail` is English);
     a flag stored before it carried numbers is named only */
  function explain(f) {
    var n = function (x, digits) { return P.fmt(x, digits === undefined ? 0 : digits); };
    var has = function (keys) { return keys.every(function (k) { return f[k] !== undefined && f[k] !== null; }); };
    switch (f.code) {
      case "own_family": case "no_position": return t("fd_" + f.code);
      case "far_from_family":
        return has(["distance_m", "max_distance_m"]) ? P.fill(t("fd_far_from_family"), {distance: n(f.distance_m), max: n(f.max_distance_m)}) : "";
      case "imprecise_gps":
        return has(["accuracy_m", "max_accuracy_m"]) ? P.fill(t("fd_imprecise_gps"), {accuracy: n(f.accuracy_m), max: n(f.max_accuracy_m)}) : "";
      case "implausible_speed":
        return has(["distance_m", "seconds", "speed_kmh", "max_speed_kmh"]) ? P.fill(t("fd_implausible_speed"),
          {distance: n(f.distance_m), seconds: n(f.seconds), speed: n(f.speed_kmh), max: n(f.max_speed_kmh)}) : "";
      case "too_many_visits":
        return has(["visits", "minutes", "max_visits"]) ? P.fill(t("fd_too_many_visits"), {visits: n(f.visits), minutes: n(f.minutes), max: n(f.max_visits)}) : "";
      case "identical_answers":
        return has(["visits"]) ? P.fill(t("fd_identical_answers"), {visits: n(f.visits)}) : "";
      case "backcheck_disagrees":
        if (!has(["backcheck_id", "by"])) { return ""; }
        var parts = [];
        if (has(["result_code", "original_result_code"]) && f.result_code !== f.original_result_code) {
          parts.push(P.fill(t("fd_bc_result"), {result: t("r" + f.result_code), original: t("r" + f.original_result_code)}));
        }
        if (has(["members", "original_members"]) && f.members !== f.original_members) {
          parts.push(P.fill(t("fd_bc_members"), {members: n(f.members), original: n(f.original_members)}));
        }
        if (f.criteria_differ) { parts.push(P.fill(t("fd_bc_criteria"), {criteria: n(f.criteria_differ)})); }
        return P.fill(t("fd_backcheck_disagrees"), {id: f.backcheck_id, by: f.by, parts: parts.join("; ")});
      default: return "";
    }
  }

  function show(v) {
    var apart = v.family_distance_m;
    delete document.body.dataset.readyVisit;
    el("info").innerHTML = "<b>" + P.esc(v.nama_kepala || "#" + v.household_id) + "</b> · <a href='/portal/keluarga/" +
      v.household_id + "?lang=" + window.PETA.lang + "'>" + P.esc(t("detail")) + "</a>" +
      P.facts([["code", v.rt_code], ["verifier", v.verifier], ["result", t("r" + v.result_code)],
               ["members", P.fmt(v.jumlah_anggota, 0)],
               ["distance", apart === null || apart === undefined ? "–" : P.fmt(apart, 0) + " m" + (apart < SAME ? " (" + t("same_point") + ")" : "")],
               ["notes", v.notes || "–"]].concat(stepText(v) ? [["approval_step", stepText(v)]] : [],
                                                 v.checked_by ? [["checked_by", v.checked_by.replace(/^user:/, "")]] : [])) +
      "<ul class='flags'>" + once(v.flags).map(function (x) {
        return "<li data-flag='" + P.esc(x.f.code) + "'><b>" + P.esc(t("flag_" + x.f.code)) + "</b>" + (x.words ? ": " + P.esc(x.words) : "") + "</li>";
      }).join("") + "</ul><h2>" + P.esc(t("photos")) + "</h2>" + photos(v);
    chosen.clearLayers();
    var at = v.lat !== null ? L.latLng(v.lat, v.lon) : null;
    var home = v.family_lat !== null && v.family_lat !== undefined ? L.latLng(v.family_lat, v.family_lon) : null;
    // a few metres apart the two points are one spot on the map: no line and no length drawn over them, the panel
    // and the legend say "same point"; the family's ring is wider than the visit's dot, so both show either way
    var same = !!(at && home) && apart !== null && apart !== undefined && apart < SAME;
    legend(v, at, home, same);
    if (at && home && !same) {
      // the length above the line's middle, not on it: on a short line a label on the middle hides both points
      L.polyline([home, at], {color: LINE, weight: 2, dashArray: "6 5"}).bindTooltip(P.fmt(apart, 0) + " m", {permanent: true,
        direction: "top", offset: [0, -16], className: "distance"}).addTo(chosen);
    }
    if (home) {
      L.circleMarker(home, {radius: 12, weight: 3, color: FAMILY, fillColor: "#ffffff", fillOpacity: 1})
        .bindTooltip(t("legend_family")).addTo(chosen);
    }
    if (at) {
      L.circleMarker(at, {radius: 7, weight: 2, color: LINE, fillOpacity: 1, fillColor: (v.flags || []).length ? VISIT : CLEAN})
        .bindTooltip(t("legend_visit") + (same ? " (" + t("same_point") + ")" : "")).addTo(chosen);
    }
    document.body.dataset.samePoint = same ? "1" : "0";
    var points = [at, home].filter(Boolean);
    if (points.length) { map.fitBounds(L.latLngBounds(points).pad(0.5), {maxZoom: 17}); }
    var code = v.rt_code;
    outline(code).then(function (f) {
      if (f && el("info").dataset.visit === String(v.id)) {
        L.geoJSON(f, {style: {color: RT, weight: 2, fill: false}, interactive: false}).addTo(chosen);
      }
      P.mark("readyVisit");
    }).catch(function () { P.mark("readyVisit"); });
    el("info").dataset.visit = String(v.id);
  }

  function draw() {
    layer.clearLayers();
    visits.forEach(function (v) {
      if (v.lat === null) { return; }
      L.circleMarker([v.lat, v.lon], {radius: 7, weight: 1, color: "#243b55", fillOpacity: 0.9,
                                      fillColor: (v.flags || []).length ? "#bd0026" : "#1b9e77"})
        .bindTooltip(P.esc(v.nama_kepala || "") + " · " + P.esc(v.verifier)).on("click", function () { show(v); }).addTo(layer);
    });
    var rows = visits.map(function (v) {
      return {code: String(v.id), id: v.id, when: (v.visited_at || "").slice(0, 16).replace("T", " "), name: v.nama_kepala,
              verifier: v.verifier, result: v.result_code, flags: once(v.flags).map(function (x) { return t("flag_" + x.f.code); }).join(", "),
              n_flags: once(v.flags).length, status: v.status, visit: v};
    });
    var columns = [{key: "when", label: t("when"), render: function (r) { return P.esc(r.when); }},
                   {key: "name", label: t("head"), render: function (r) { return P.esc(r.name || ""); }},
                   {key: "verifier", label: t("verifier"), render: function (r) { return P.esc(r.verifier); }},
                   {key: "result", label: t("result"), digits: 0},
                   {key: "n_flags", label: t("flags"), render: function (r) { return "<span title='" + P.esc(r.flags) + "'>" + P.esc(r.flags || "–") + "</span>"; }},
                   {key: "status", label: t("status"), render: function (r) { return actions(r.visit); }}];
    P.table(el("table"), columns, rows, function (code, ev) {
      var v = visits.filter(function (x) { return String(x.id) === code; })[0];
      if (ev.target.dataset.approve) { decide(v.id, true); }
      else if (ev.target.dataset.return) { decide(v.id, false); }
      else { show(v); }
    }, {label: t("table_visits"), state: sort});
    var open = el("info").dataset.visit;
    if (!open || !visits.some(function (v) { return String(v.id) === open; })) { overview(); }
    if (!visits.length) {  // an empty list says so, and which visits it was asked for
      el("table").insertAdjacentHTML("beforeend", "<p class='hint empty'>" + P.esc(P.fill(t(state.flagged ? "no_visits_flagged" : "no_visits_status"),
        {status: t(state.status).toLowerCase()})) + "</p>");
    }
    document.body.dataset.visits = String(visits.length);
    P.mark("readyReview");
  }

  function load() {
    history.replaceState(null, "", "?" + new URLSearchParams({campaign: state.campaign, status: state.status,
      flagged: state.flagged ? "1" : "0", lang: window.PETA.lang}).toString());
    var url = "/api/v1/campaigns/" + state.campaign + "/verifications?limit=1000&status=" + state.status +
              (state.flagged ? "&flagged=true" : "");
    return P.api(url).then(function (list) { visits = list; draw(); })
      .catch(function (err) { P.status(t("failed") + ": " + err.message, "error"); });
  }
  el("state").addEventListener("change", function () { state.status = el("state").value; load(); });
  el("flagged").addEventListener("change", function () { state.flagged = el("flagged").checked; load(); });
  el("campaign").addEventListener("change", function () { state.campaign = el("campaign").value; load(); });
  P.api("/api/v1/campaigns").then(function (list) {
    if (!list.length) { P.status(t("no_campaign")); P.mark("readyReview"); return; }
    if (!state.campaign || !list.some(function (c) { return String(c.id) === String(state.campaign); })) { state.campaign = list[0].id; }
    P.options(el("campaign"), list.map(function (c) { return [c.id, c.name]; }), state.campaign);
    return load();
  });
}
