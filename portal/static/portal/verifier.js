/* Tugas Saya: a verifier's open assignments, their families on a map and in a list, and the visit form.
   Visits are kept in localStorage first and sent in batches (idempotent by client_id): a phone without a
   connection loses nothing, and sends what waits as soon as it is back online. */
function PETA_PAGE() {
  "use strict";
  var t = P.t, map = P.map(), el = function (id) { return document.getElementById(id); };
  var KEY = "peta.queue." + window.PETA.user.username;
  var tasks = [], families = [], markers = {}, current = null, position = null, layer = L.layerGroup().addTo(map);
  P.i18n(el("panel"));

  function queue() { try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { return []; } }
  function store(q) { localStorage.setItem(KEY, JSON.stringify(q)); showQueue(); }
  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return "10000000-1000-4000-8000-100000000000".replace(/[018]/g, function (c) {
      return (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16);
    });
  }
  function showQueue(extra) {
    var n = queue().length;
    document.body.dataset.queued = String(n);
    el("queue").textContent = (navigator.onLine ? "" : t("offline") + " · ") + P.fill(t("queued"), {n: P.fmt(n, 0)}) +
      (extra ? " · " + extra : "");
  }

  function flush() {
    var q = queue();
    if (!q.length || !navigator.onLine) { showQueue(); return Promise.resolve(); }
    return P.api("/api/v1/verifications/batch", {method: "POST", body: {visits: q}}).then(function (res) {
      var done = {}, notes = [];
      res.results.forEach(function (r) {
        done[r.client_id] = true;  // created, a duplicate of one received before, or refused: it left the phone
        if (r.status === "rejected") { notes.push(t("rejected") + ": " + r.reason); }
        else { document.body.dataset.sent = String(Number(document.body.dataset.sent || 0) + (r.status === "created" ? 1 : 0)); }
      });
      store(queue().filter(function (v) { return !done[v.client_id]; }));
      P.status(notes.length ? notes.join("; ") : t("sent"), notes.length ? "error" : "ok");
    }).catch(function (err) {
      showQueue();
      if (err.status) { P.status(err.message, "error"); }  // no status: the network, try again later
    });
  }
  window.addEventListener("online", flush);
  window.addEventListener("offline", function () { showQueue(); });

  function locate() {
    el("gps").textContent = t("no_position");
    if (!navigator.geolocation) { return; }
    navigator.geolocation.getCurrentPosition(function (p) {
      position = {lon: p.coords.longitude, lat: p.coords.latitude, accuracy_m: Math.round(p.coords.accuracy || 0)};
      el("gps").textContent = position.lat.toFixed(5) + ", " + position.lon.toFixed(5) + " (± " + position.accuracy_m + " m)";
    }, function () { position = null; }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
  }

  function open(f) {
    current = f;
    var p = f.properties;
    el("visit").hidden = false;
    el("visit-title").textContent = p.nama_kepala || ("#" + p.id);
    el("visit-facts").innerHTML = P.facts([["code", p.rt_code], ["address", p.alamat], ["score", P.fmt(p.score, 1)],
      ["desil", P.fmt(p.local_desil, 0)], ["members", P.fmt(p.jumlah_anggota, 0)]]);
    el("members").value = p.jumlah_anggota || "";
    el("crit").innerHTML = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14].map(function (i) {
      var k = "k" + (i < 10 ? "0" : "") + i;
      return "<label class='check'><input type='checkbox' id='c" + k + "'" + (p[k] ? " checked" : "") + "> " + P.esc(t(k)) + "</label>";
    }).join("");
    el("notes").value = "";
    locate();
    // the fixed header (taller on a phone, where it wraps) would cover the form's title: scroll to just under it
    el("visit").style.scrollMarginTop = (document.getElementById("header").getBoundingClientRect().bottom + 8) + "px";
    el("visit").scrollIntoView({behavior: "instant", block: "start"});
    if (markers[p.id]) { map.setView(markers[p.id].getLatLng(), 18); }
  }

  P.options(el("result"), [1, 2, 3, 4, 5, 6, 7].map(function (i) { return [i, t("r" + i)]; }), 1);
  el("cancel").onclick = function () { el("visit").hidden = true; current = null; };
  el("visit").addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (!current) { return; }
    var p = current.properties;
    var task = tasks.filter(function (a) { return a.household_id === p.id; })[0] ||
               tasks.filter(function (a) { return a.rt_code === p.rt_code && a.household_id === null; })[0];
    var crit = [];
    for (var i = 1; i <= 14; i++) { crit.push(el("ck" + (i < 10 ? "0" : "") + i).checked); }
    var visit = {client_id: uuid(), campaign_id: task.campaign_id, household_id: p.id,
                 result_code: Number(el("result").value), visited_at: new Date().toISOString(), criteria: crit,
                 jumlah_anggota: el("members").value ? Number(el("members").value) : null,
                 notes: el("notes").value || null};
    if (position) { visit.lon = position.lon; visit.lat = position.lat; visit.accuracy_m = position.accuracy_m; }
    var q = queue();
    q.push(visit);
    store(q);
    if (markers[p.id]) { markers[p.id].setStyle({fillColor: "#2e7d32"}); }
    var row = document.querySelector("#families li[data-id='" + p.id + "']");
    if (row) { row.classList.add("done"); }
    el("visit").hidden = true;
    current = null;
    flush();
  });

  function draw() {
    var wanted = {};
    tasks.forEach(function (a) { wanted[a.household_id === null ? "rt:" + a.rt_code : "id:" + a.household_id] = true; });
    var mine = families.filter(function (f) {
      return wanted["rt:" + f.properties.rt_code] || wanted["id:" + f.properties.id];
    }).sort(function (a, b) { return (b.properties.score || 0) - (a.properties.score || 0); });
    layer.clearLayers();
    mine.forEach(function (f) {
      var c = f.geometry.coordinates;
      markers[f.properties.id] = L.circleMarker([c[1], c[0]], {radius: 7, color: "#243b55", weight: 1, fillColor: "#f03b20",
        fillOpacity: 0.9}).bindTooltip(P.esc(f.properties.nama_kepala || "")).on("click", function () { open(f); }).addTo(layer);
    });
    if (mine.length) { map.fitBounds(L.featureGroup(Object.keys(markers).map(function (k) { return markers[k]; })).getBounds(), {maxZoom: 17}); }
    el("tasks").innerHTML = "<h2>" + P.esc(t("my_tasks")) + "</h2>" + (tasks.length ? "<ul>" + tasks.map(function (a) {
      return "<li>" + P.esc(a.campaign) + " · " + P.esc(a.household_id === null ? (a.rt_name || "") + " " + a.rt_code : "#" + a.household_id) +
             " · " + P.esc(t("due")) + " " + P.esc(a.due_on) + (a.kind === "backcheck" ? " · " + P.esc(t("backcheck")) : "") + "</li>";
    }).join("") + "</ul>" : "<p>" + P.esc(t("no_tasks")) + "</p>");
    el("families").innerHTML = "<ul class='families'>" + mine.map(function (f) {
      var p = f.properties;
      return "<li data-id='" + p.id + "'><b>" + P.esc(p.nama_kepala || "#" + p.id) + "</b> · " + P.esc(p.alamat || "") +
             "<br><small>" + P.esc(t("score")) + " " + P.fmt(p.score, 1) + " · " + P.esc(t("desil")) + " " + P.fmt(p.local_desil, 0) +
             " · BPS " + P.fmt(p.bps_count, 0) + "/14 · <a href='/portal/keluarga/" + p.id + "?lang=" + window.PETA.lang + "'>" +
             P.esc(t("detail")) + "</a></small> <button type='button' data-id='" + p.id + "'>" + P.esc(t("visit")) + "</button></li>";
    }).join("") + "</ul>";
    el("families").querySelectorAll("button").forEach(function (b) {
      b.onclick = function () { open(mine.filter(function (f) { return String(f.properties.id) === b.dataset.id; })[0]); };
    });
    document.body.dataset.families = String(mine.length);
    P.mark("readyVerifier");
  }

  if ("serviceWorker" in navigator) {  // the page and the last tasks stay on the phone for offline use
    navigator.serviceWorker.register("/portal/sw.js", {scope: "/portal/"}).catch(function (e) { console.warn(e); });
  }
  P.status(t("loading"));
  Promise.all([P.api("/api/v1/assignments/mine"), P.api("/ogc/collections/households/items?limit=5000")])
    .then(function (res) {
      tasks = res[0];
      families = res[1].features;
      P.status("");
      draw();
      showQueue();
      flush();
    })
    .catch(function (err) { P.status(t("failed") + ": " + err.message, "error"); showQueue(); });
}
