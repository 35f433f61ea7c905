/* Dispatcher console: map, planning, polling, trail maps, charts, SLA clocks.
   Plain ES2017, no build step. Leaflet (L) and Chart.js (Chart) come from npm via
   /console/vendor/. Every POST carries the session's CSRF token (X-CSRF-Token).
   Data is written with textContent, never innerHTML. Every URL it builds starts from
   the console's root as the page gives it (ROOT), never from an absolute path. */
(function () {
  "use strict";

  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var CSRF = csrfMeta ? csrfMeta.content : "";
  /* The console's root, ending in a slash: /console/, or /postal/console/ when the
     product is served under a path prefix (base.html renders it with url_for). */
  var ROOT = document.body.dataset.root;

  function jsonOf(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  /* Leaflet puts a string tooltip in with innerHTML: give it an element holding text. */
  function tip(text) { return el("span", {text: String(text)}); }
  function el(tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "class") node.className = attrs[k];
      else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), attrs[k]);
      else node.setAttribute(k, attrs[k]);
    });
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return node;
  }

  function api(method, url, body) {
    var opts = {method: method, credentials: "same-origin",
                headers: {"Accept": "application/json"}};
    if (method !== "GET") opts.headers["X-CSRF-Token"] = CSRF;
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (r.status === 401) {
          window.location.href = ROOT + "login?next=" +
            encodeURIComponent(window.location.pathname + window.location.search);
        }
        if (!r.ok) {
          var e = new Error(data.detail || data.title || r.statusText);
          e.problem = data;
          throw e;
        }
        return data;
      });
    });
  }

  function hhmm(iso) {
    if (!iso) return "";
    var d = new Date(iso);
    // Viet Nam time (UTC+7), whatever the browser's zone
    var vn = new Date(d.getTime() + 7 * 3600 * 1000);
    return ("0" + vn.getUTCHours()).slice(-2) + ":" + ("0" + vn.getUTCMinutes()).slice(-2);
  }

  function tiles(map, cfg) {
    // A failed tile load only marks the map: stops, routes and couriers stay drawn.
    var layer = L.tileLayer(cfg.tileUrl, {attribution: cfg.attribution, maxZoom: 19});
    layer.on("tileerror", function () { map.getContainer().classList.add("tiles-failed"); });
    layer.addTo(map);
  }

  /* ------------------------------------------------------------ SLA clocks */
  function tickSla() {
    var now = Date.now();
    document.querySelectorAll("[data-due]").forEach(function (node) {
      var s = Math.round((Date.parse(node.dataset.due) - now) / 1000);
      var m = Math.floor(Math.abs(s) / 60);
      var txt = Math.floor(m / 60) + " h " + ("0" + (m % 60)).slice(-2) + " min";
      node.textContent = s < 0 ? node.dataset.overdue + " " + txt : txt + " " + node.dataset.left;
      node.classList.toggle("overdue", s < 0);
    });
  }

  /* ------------------------------------------------------------ map page */
  function initMap() {
    var cfg = jsonOf("console-config");
    var T = cfg.labels;
    var hasMap = typeof L !== "undefined";
    var map = null, itemLayer = null, planLayer = null, forceLayer = null, courierLayer = null;
    var colours = {}, names = {}, inactive = {};
    /* The couriers the day's data names: the office's active ones and those no longer
       active there whose route is still in force (or who still have items). */
    function setCouriers(list) {
      list.forEach(function (c) {
        colours[c.id] = c.color;
        names[c.id] = c.username;
        inactive[c.id] = c.inactive || null;
      });
    }
    setCouriers(cfg.couriers);
    var state = {plan: null, items: [], polling: null, inForce: null, showInForce: true,
                 showDraft: true, itemsTouched: false};
    /* Polling of the day's data (items, routes in force, the latest plan): one request
       at a time, every cfg.dayRefreshS seconds while the page is visible, at once when
       it becomes visible again and after the user's own actions. A poll started before
       a user action is dropped (the action's own refresh follows). */
    var day = {timer: null, inflight: null, again: false, gen: 0, keys: {}, loads: 0,
               lastOk: null};

    if (hasMap) {
      map = L.map("map").setView([cfg.office.lat, cfg.office.lon], 14);
      tiles(map, cfg);
      L.circleMarker([cfg.office.lat, cfg.office.lon], {radius: 9, color: "#000", weight: 3,
        fillColor: "#f6c700", fillOpacity: 1, className: "office-marker"})
        .bindTooltip(tip(cfg.office.code)).addTo(map);
      itemLayer = L.layerGroup().addTo(map);
      forceLayer = L.layerGroup().addTo(map);  // under the draft
      planLayer = L.layerGroup().addTo(map);
      legend();
      courierLayer = L.layerGroup().addTo(map);
    } else {
      document.getElementById("map-missing").hidden = false;
    }
    function colour(cid) { return colours[cid] || "#777"; }
    /* A courier's name, saying so when they are no longer active at the office (their
       route stays in force until a plan replaces it). */
    function courierName(cid) {
      var name = names[cid] || String(cid);
      return inactive[cid] ? name + " (" + (T["courier_" + inactive[cid]] || inactive[cid]) +
        ")" : name;
    }
    function itemLink(identifier) {
      return el("a", {href: cfg.itemUrl + "?number=" + encodeURIComponent(identifier),
                      text: identifier});
    }

    function renderItems(data) {
      state.items = data.items;
      var checks = document.getElementById("item-checks");
      var unassigned = document.getElementById("unassigned");
      // the user's choices survive a refresh; an item new since then is chosen only if
      // the user has not narrowed the choice
      var chosen = {};
      checks.querySelectorAll("input").forEach(function (i) { chosen[i.value] = i.checked; });
      checks.textContent = "";
      unassigned.textContent = "";
      if (itemLayer) itemLayer.clearLayers();
      var plannable = 0, open = 0;
      data.items.forEach(function (it) {
        if (itemLayer && it.lat !== null) {
          L.circleMarker([it.lat, it.lon], {radius: 5, weight: 1, color: "#333",
            fillColor: colour(it.courier_id), fillOpacity: 0.85,
            className: "item-marker" + (it.courier_id ? "" : " unassigned-marker")})
            .bindTooltip(tip(it.identifier + " · " + it.status_label +
                         (it.courier_id ? " · " + courierName(it.courier_id) : "")))
            .bindPopup(function () { return itemLink(it.identifier); })
            .addTo(itemLayer);
        }
        if (it.plannable) {
          plannable++;
          var box = el("input", {type: "checkbox", name: "item", value: it.identifier});
          box.checked = it.identifier in chosen ? chosen[it.identifier] : !state.itemsTouched;
          checks.appendChild(el("label", {title: it.address}, box, it.identifier));
        }
        if (!it.courier_id) {
          open++;
          unassigned.appendChild(el("li", {}, itemLink(it.identifier), " · " + it.status_label +
            (it.window ? " · " + it.window.join("–") : "") + " · ", el("span", {class: "muted",
            text: it.address})));
        }
      });
      if (map && !state.fitted) {
        var pts = data.items.filter(function (it) { return it.lat !== null; })
          .map(function (it) { return [it.lat, it.lon]; });
        if (pts.length) { map.fitBounds(L.latLngBounds(pts).pad(0.1)); state.fitted = true; }
      }
      document.getElementById("item-count").textContent = plannable;
      document.getElementById("unassigned-count").textContent = open;
      noteLeftOut();
    }

    /* What changed since the last load is drawn again, nothing else: no flicker, the
       map's view, open lists and the user's choices stay. The plan being polled while
       it runs, or a plan older than the one shown, is left to its own polling. */
    /* JSON with every object's keys sorted: the same data read back from PostgreSQL
       (jsonb orders keys its own way) or built by another endpoint compares equal. */
    function canon(v) {
      if (Array.isArray(v)) return "[" + v.map(canon).join(",") + "]";
      if (v && typeof v === "object") {
        return "{" + Object.keys(v).sort().map(function (k) {
          return JSON.stringify(k) + ":" + canon(v[k]);
        }).join(",") + "}";
      }
      return JSON.stringify(v === undefined ? null : v);
    }

    function applyDay(data) {
      var keys = {items: canon(data.items), couriers: canon(data.couriers),
                  force: canon(data.in_force || null)};
      var old = day.keys;
      day.keys = keys;
      setCouriers(data.couriers || []);
      var couriersChanged = keys.couriers !== old.couriers;
      if (couriersChanged || keys.items !== old.items) renderItems(data);
      var forceChanged = couriersChanged || keys.force !== old.force;
      state.inForce = data.in_force || null;
      var p = data.plan, mine = state.plan;
      var planChanged = !!p && canon(p) !== canon(mine) && !(mine && (
        p.id < mine.id || (p.id === mine.id && (mine.status === "queued" ||
                                                mine.status === "running"))));
      // the same plan in the same state, changed elsewhere (another tab's edit): its
      // routes are redrawn, and what the status line says of this tab's last action stays
      if (planChanged) showPlan(p, !!mine && p.id === mine.id && p.status === mine.status);
      else if (forceChanged || old.force === undefined) { drawPlan(); renderInForce(); }
    }

    function fresh() {
      day.lastOk = new Date();
      day.loads += 1;
      document.getElementById("stale-notice").hidden = true;
      var node = document.getElementById("day-updated");
      node.textContent = T.updated_at + " " + hhmm(day.lastOk.toISOString());
      node.dataset.loads = day.loads;
    }

    function stale(e) {  // a notice, not an alert: the data shown may be out of date
      var node = document.getElementById("stale-notice");
      node.textContent = fill(T.stale_data, {at: day.lastOk ? hhmm(day.lastOk.toISOString())
                                                            : "–"});
      node.title = e.message;
      node.hidden = false;
    }

    function scheduleDay() {
      clearTimeout(day.timer);
      if (!document.hidden) day.timer = setTimeout(loadDay, cfg.dayRefreshS * 1000);
    }

    function loadDay() {
      if (day.inflight) { day.again = true; return day.inflight; }
      clearTimeout(day.timer);
      var gen = day.gen;
      day.inflight = api("GET", ROOT + "api/day?date=" + encodeURIComponent(cfg.date))
        .then(function (data) {
          if (gen !== day.gen) { day.again = true; return; }
          applyDay(data);
          fresh();
        }).catch(stale).then(function () {
          day.inflight = null;
          if (day.again) { day.again = false; return loadDay(); }
          scheduleDay();
        });
      return day.inflight;
    }

    /* The user changes something (a plan started, edited, published): a poll already
       under way brings data from before it and is dropped; so is one started while the
       change was on its way (the server may have answered it first), hence once more
       when the change's answer arrives (actionDone), before the page shows it. */
    function userAction() { day.gen += 1; }
    function actionDone(value) { day.gen += 1; return value; }

    document.addEventListener("visibilitychange", function () {
      if (document.hidden) clearTimeout(day.timer);
      else loadDay();
    });

    function status(text, bad) {
      var node = document.getElementById("plan-status");
      node.textContent = text;
      node.classList.toggle("bad", !!bad);
    }

    function currentRoutes() {
      return state.plan.result.routes.map(function (r) {
        return {courier_id: r.courier_id,
                identifiers: r.stops.map(function (s) { return s.identifier; })};
      });
    }

    /* An edit or a publish on its way: the draft's controls and the publish button are
       disabled until it is answered, so a second click (a double click, an impatient
       one on a slow line) sends nothing. Made from the same routes as the first, it
       would silently undo it (each edit sends every route), and a second publish
       answers 409 after the first succeeded, the status line then saying it failed. */
    var busy = false;
    function setBusy(on) {
      busy = on;
      document.getElementById("publish").disabled = on;
      // (a control off for its own reason, a stop in its courier's bag, stays off)
      document.querySelectorAll("#routes select, #routes button").forEach(function (n) {
        if (on && !n.disabled) { n.disabled = true; n.dataset.busy = "1"; }
        else if (!on && n.dataset.busy) { n.disabled = false; delete n.dataset.busy; }
      });
    }

    function edit(mutate) {
      if (busy) return Promise.resolve();
      var routes = currentRoutes();
      mutate(routes);
      var byCourier = {};
      routes.forEach(function (r) { byCourier[r.courier_id] = r; });
      status("…");
      setBusy(true);
      userAction();
      // made from this version of the plan: changed since (another tab, another
      // dispatcher), the edit is refused (409), not made over their changes
      return api("POST", ROOT + "api/plans/" + state.plan.id + "/edit",
                 {routes: Object.keys(byCourier).map(function (k) { return byCourier[k]; }),
                  base: state.plan.version})
        .then(actionDone, function (e) { actionDone(); throw e; })
        .then(function (plan) {
          setBusy(false);
          showPlan(plan);
          status(hasIssues(plan) ? T.edited_issues : T.edited, hasIssues(plan));
        })
        .catch(function (e) {
          // refused: the draft drawn again as it is (a move's select back on its
          // courier), and the reasons the answer gives, not only "see errors"
          setBusy(false);
          renderRoutes(state.plan);
          status(problemText(e), true);
        })
        .then(loadDay);
    }

    /* A refused action's message with the reasons of its problem details' errors (the
       first few), e.g. why a stop cannot be put on a route. */
    var ERRORS_SHOWN = 3;
    function problemText(e) {
      var errors = (e.problem && e.problem.errors) || [];
      var said = errors.slice(0, ERRORS_SHOWN).map(function (x) { return x.detail; });
      if (errors.length > ERRORS_SHOWN) said.push("…");
      return [e.message].concat(said).join(" ");
    }

    function moveStop(identifier, from, to) {
      edit(function (routes) {
        var src = routes.filter(function (r) { return r.courier_id === from; })[0];
        src.identifiers = src.identifiers.filter(function (i) { return i !== identifier; });
        var dst = routes.filter(function (r) { return r.courier_id === to; })[0];
        if (!dst) { dst = {courier_id: to, identifiers: []}; routes.push(dst); }
        dst.identifiers.push(identifier);
      });
    }

    function reorder(courier, index, delta) {
      edit(function (routes) {
        var r = routes.filter(function (x) { return x.courier_id === courier; })[0];
        var j = index + delta;
        if (j < 0 || j >= r.identifiers.length) return;
        var tmp = r.identifiers[index];
        r.identifiers[index] = r.identifiers[j];
        r.identifiers[j] = tmp;
      });
    }

    /* The map's routes: every courier's route in force (published, from the day's
       data), solid; over them the plan being worked on, once it has routes and until it
       is published, dashed, its stops ringed with a dark dotted line. While the draft is
       shown, the routes in force of the couriers it is for (publishing it replaces them,
       also a courier it gives no stop) are faded. A published plan is drawn only through
       the routes in force: those of its routes a later plan took over are no longer in
       force. */
    function draftOf(plan) {
      return plan && plan.status === "succeeded" && plan.geojson ? plan : null;
    }

    function drawRoutes(layer, geojson, how) {
      geojson.features.forEach(function (f) {
        var p = f.properties;
        var c = colour(p.courier_id);
        var faded = how.covered[p.courier_id];
        var cls = " " + how.kind + (faded ? " covered" : "") + " courier-" + p.courier_id +
          (p.plan_id ? " plan-" + p.plan_id : "");
        var note = how.note + (p.plan_id ? " · " + T.from_plan + " #" + p.plan_id : "") +
          (faded ? " · " + how.fadedNote : "");
        if (p.kind === "route") {
          L.polyline(f.geometry.coordinates.map(function (xy) { return [xy[1], xy[0]]; }),
            {color: c, weight: faded ? 3 : 4, opacity: faded ? 0.3 : 0.85,
             dashArray: how.dashed ? "8 7" : null, className: "route-line" + cls})
            .bindTooltip(tip(courierName(p.courier_id) + " · " +
                         (p.distance_m / 1000).toFixed(1) + " km · " + note))
            .addTo(layer);
        } else if (p.kind === "stop") {
          // a stop whose parcel left the courier since the route was published: hollow;
          // one done before the courier re-optimised: small and grey, without its ETA
          // (the one planned before, not when it was done)
          var away = !!p.moved_away, done = !!p.done;
          L.circleMarker([f.geometry.coordinates[1], f.geometry.coordinates[0]],
            {radius: done ? 4 : 6, weight: 2,
             color: away ? c : how.dashed ? "#222" : "#fff",
             fillColor: done ? "#999" : c, dashArray: how.dashed || away ? "3 2" : null,
             opacity: faded ? 0.3 : 1, fillOpacity: away ? 0 : faded ? 0.3 : 1,
             className: "stop-marker" + cls + (away ? " moved-away" : "") +
               (done ? " done" : "")})
            .bindTooltip(tip(p.sequence + ". " + p.identifier + " · " +
                         (done ? "✓ " + T.stop_done : hhmm(p.eta)) + " · " +
                         courierName(p.courier_id) + " · " + note +
                         (away ? " · " + T.moved_away : "")))
            .addTo(layer);
        }
      });
    }

    function drawPlan() {  // state.plan and state.inForce (showPlan, loadDay set them)
      if (!planLayer) return;
      planLayer.clearLayers();
      forceLayer.clearLayers();
      var draft = state.showDraft ? draftOf(state.plan) : null;
      var covered = {};
      if (draft) draft.courier_ids.forEach(function (cid) { covered[cid] = true; });
      if (state.inForce && state.showInForce) {
        drawRoutes(forceLayer, state.inForce.geojson, {kind: "in-force", dashed: false,
          covered: covered, note: T.in_force,
          fadedNote: draft ? T.replaced_if_published + " #" + draft.id : ""});
      }
      if (draft) {
        drawRoutes(planLayer, draft.geojson, {kind: "draft", dashed: true, covered: {},
          note: T.draft_plan + " #" + draft.id, fadedNote: ""});
      }
    }

    /* The legend in the map's corner: a checkbox each to show or hide the routes in
       force and the draft. */
    function legend() {
      function row(key, label, dashed) {
        return el("label", {}, el("input", {type: "checkbox", id: "show-" + key, checked: "",
          onchange: function (ev) {
            state[key === "in-force" ? "showInForce" : "showDraft"] = ev.target.checked;
            drawPlan();
          }}), el("span", {class: "legend-line" + (dashed ? " dashed" : "")}), label);
      }
      var box = el("div", {class: "map-legend", id: "map-legend"},
                   row("in-force", T.in_force, false), row("draft", T.draft_plan, true));
      var control = L.control({position: "bottomleft"});
      control.onAdd = function () {
        L.DomEvent.disableClickPropagation(box);
        return box;
      };
      control.addTo(map);
    }

    /* A template with {name} holes filled from params: text, for textContent only. */
    function fill(template, params) {
      return String(template).replace(/\{(\w+)\}/g, function (hole, name) {
        var v = params[name];
        return v === undefined || v === null ? hole : String(v);
      });
    }

    function kg(grams) { return (grams / 1000).toFixed(1); }

    /* One issue of a route (docs/api.md, "Route issues") in the page's language; an
       unknown code is shown as its code. */
    function issueText(i) {
      var params = Object.assign({}, i, {
        late_min: Math.ceil((i.late_s || 0) / 60),
        eta: hhmm(i.eta), window_end: hhmm(i.window_end), end: hhmm(i.end),
        shift_end: hhmm(i.shift_end)});
      if (i.code === "over_weight") {
        params.excess_kg = kg(i.excess_g);
        params.weight_kg = kg(i.weight_g);
        params.capacity_kg = kg(i.capacity_g);
      }
      return cfg.routeIssues[i.code] ? fill(cfg.routeIssues[i.code], params) : i.code;
    }

    function hasIssues(plan) {
      return !!plan.result && (plan.result.feasible === false ||
        plan.result.routes.some(function (r) { return r.issues && r.issues.length; }));
    }

    function renderRoutes(plan) {
      var box = document.getElementById("routes");
      box.textContent = "";
      if (!plan.result) return;
      // a published plan's routes are listed with the routes in force (those still in
      // force); only the draft's are listed here, marked as such
      var editable = plan.status === "succeeded";
      var couriers = plan.courier_ids;
      if (editable) {
        box.appendChild(el("h3", {class: "draft-heading", id: "draft-heading",
                                  text: T.draft_plan + " #" + plan.id}));
        var started = warmStartNote(plan.result);
        if (started) box.appendChild(started);
        var moved = movedNote(plan.result);
        if (moved) box.appendChild(moved);
      }
      // a parcel in its courier's bag (out, or back from a failed attempt that day) goes
      // with them: its stop is reordered, not moved to another courier (the server
      // refuses such an edit)
      var inBag = {};
      (state.items || []).forEach(function (it) {
        if (it.courier_id && !it.plannable &&
            (it.status === "out_for_delivery" || it.status === "delivery_failed")) {
          inBag[it.identifier] = true;
        }
      });
      (editable ? plan.result.routes : []).forEach(function (r) {
        var ol = el("ol");
        var issues = r.issues || [];
        var late = {};
        issues.forEach(function (i) { if (i.code === "late_stop") late[i.identifier] = true; });
        r.stops.forEach(function (s, n) {
          var li = el("li", {"data-identifier": s.identifier,
                             class: "stop" + (late[s.identifier] ? " late" : "")},
            itemLink(s.identifier), " " + hhmm(s.eta) + (s.lateness_s > 0 ? " ⚠" : "") +
            (s.unplaced ? " ⚠ " + (cfg.unplanned[s.unplaced.reason] || s.unplaced.message) : "") + " ");
          if (editable) {
            var sel = el("select", {"aria-label": T.move_to, class: "move",
              onchange: function (ev) { moveStop(s.identifier, r.courier_id, +ev.target.value); }});
            if (inBag[s.identifier]) { sel.disabled = true; sel.title = T.in_bag; }
            couriers.forEach(function (cid) {
              var opt = el("option", {value: cid, text: courierName(cid)});
              if (cid === r.courier_id) opt.selected = true;
              sel.appendChild(opt);
            });
            li.appendChild(sel);
            li.appendChild(el("button", {type: "button", class: "up", title: T.up, text: "↑",
              onclick: function () { reorder(r.courier_id, n, -1); }}));
            li.appendChild(el("button", {type: "button", class: "down", title: T.down,
              text: "↓", onclick: function () { reorder(r.courier_id, n, 1); }}));
          }
          ol.appendChild(li);
        });
        var problems = issueList(issues);
        box.appendChild(el("div", {class: "route" + (issues.length ? " has-issues" : ""),
                                   "data-courier": r.courier_id},
          el("h3", {}, el("span", {class: "swatch", style: "background:" + colour(r.courier_id)}),
             courierName(r.courier_id) + " · " + r.stops.length + " " + T.stops +
             " · " + (r.distance_m / 1000).toFixed(1) + " km · " + hhmm(r.start) + "–" +
             hhmm(r.end)), keptNote(r), problems, ol));
      });
      if (plan.result.unassigned && plan.result.unassigned.length) {
        var ul = el("ul", {class: "plain", id: "plan-unassigned"});
        plan.result.unassigned.forEach(function (u) {
          ul.appendChild(el("li", {class: "reason-" + u.reason}, itemLink(u.identifier),
                            " · " + (cfg.unplanned[u.reason] || u.message || u.reason)));
        });
        box.appendChild(el("div", {class: "route"}, el("h3", {text: T.left_out}), ul));
      }
    }

    /* What the plan's optimisation started from (docs/api.md, "Re-planning during the
       day"): the routes of which plans, or from scratch (asked for, or nothing to start
       from). Null for a plan made before warm starts, whose result says nothing. */
    function warmStartNote(result) {
      if (!("warm_start" in result)) return null;
      var warm = result.warm_start;
      return el("p", {class: "muted", id: "warm-start-info",
                      "data-plans": warm ? warm.plan_ids.join(",") : "",
                      text: warm ? fill(T.started_from, {stops: warm.stops,
                        plans: warm.plan_ids.map(function (id) { return "#" + id; })
                          .join(", ")}) : T.started_cold});
    }

    /* A rebalancing plan's figure: how many stops of the routes in force went to
       another courier, at what move cost; null for a plan that moves nothing given out
       (move_cost_m null) or whose couriers had no route in force. */
    function movedNote(result) {
      if (result.move_cost_m === null || result.move_cost_m === undefined ||
          !result.stability) return null;
      return el("p", {class: "muted", id: "moved-info",
                      "data-moved": result.stability.moved,
                      text: fill(T.moved_previous, {moved: result.stability.moved,
                                                    previous: result.stability.previous_stops,
                                                    cost: result.move_cost_m})});
    }

    /* How much of its courier's route in force a route keeps, or null when the courier
       had none (previous_stops null) or the plan predates the figures. */
    function keptNote(r) {
      if (r.previous_stops === null || r.previous_stops === undefined) return null;
      return el("p", {class: "kept muted", "data-kept": r.kept_from_previous,
                      "data-previous": r.previous_stops,
                      text: fill(T.kept_previous, {kept: r.kept_from_previous,
                                                   previous: r.previous_stops})});
    }

    /* A route's issues as a list (text nodes), or null when it has none. */
    function issueList(issues) {
      if (!issues.length) return null;
      var ul = el("ul", {class: "issues"});
      issues.forEach(function (i) {
        ul.appendChild(el("li", {class: "issue", "data-code": i.code,
                                 text: "⚠ " + issueText(i)}));
      });
      return ul;
    }

    /* The side panel's list of every courier's route in force (the map's solid lines):
       which plan, when published, stops, distance, when the courier is back (and the
       last stop's ETA), what the route breaks and who accepted it. A route the draft
       would replace if published says so. Text nodes only. */
    function renderInForce() {
      var box = document.getElementById("in-force-routes");
      var routes = (state.inForce && state.inForce.routes) || [];
      var draft = draftOf(state.plan);
      var covered = {};
      if (draft) draft.courier_ids.forEach(function (cid) { covered[cid] = true; });
      box.textContent = "";
      document.getElementById("in-force-count").textContent = routes.length;
      if (!routes.length) {
        box.appendChild(el("p", {class: "muted", id: "no-route-in-force",
                                 text: T.no_route_in_force}));
        return;
      }
      routes.forEach(function (r) {
        var issues = r.issues || [];
        var gone = {};
        (r.moved_away || []).forEach(function (m) { gone[m.identifier] = true; });
        var placed = r.stops.filter(function (s) {
          return s.eta && !s.done && !gone[s.identifier];
        });
        var last = placed.length ? placed[placed.length - 1] : null;
        var problems = issueList(issues);
        var accepted = r.issues_accepted ? el("p", {class: "accepted muted",
          text: fill(T.issues_accepted_by, {by: r.issues_accepted.by,
                                            at: hhmm(r.issues_accepted.at)})}) : null;
        box.appendChild(el("div", {
          class: "force-route" + (issues.length ? " has-issues" : "") +
            (inactive[r.courier_id] ? " inactive" : "") + (covered[r.courier_id] ? " covered" : ""),
          "data-courier": r.courier_id, "data-plan": r.plan_id,
          style: "border-left-color:" + colour(r.courier_id)},
          el("h3", {}, el("span", {class: "swatch", style: "background:" + colour(r.courier_id)}),
             el("span", {class: "name" + (inactive[r.courier_id] ? " inactive-courier" : ""),
                         text: courierName(r.courier_id)}),
             " · " + (r.stops.length - Object.keys(gone).length) + " " + T.stops + " · " +
             (r.distance_m / 1000).toFixed(1) + " km"),
          el("p", {class: "times", text: T.back_at + " " + hhmm(r.end) +
             (last ? " · " + T.last_stop_at + " " + hhmm(last.eta) : "")}),
          el("p", {class: "muted plan-of", text: T.from_plan + " #" + r.plan_id + " · " +
             T.published_at + " " + hhmm(r.published_at) +
             (covered[r.courier_id] ? " · " + T.replaced_if_published + " #" + draft.id : "")}),
          problems, accepted, movedAwayList(r.moved_away || [])));
      });
    }

    /* The stops of a route in force whose parcel left its courier since it was
       published (struck through, with who has it now), or null when none. Text nodes. */
    function movedAwayList(moved) {
      if (!moved.length) return null;
      var ul = el("ul", {class: "moved-away", title: T.moved_away});
      moved.forEach(function (m) {
        ul.appendChild(el("li", {"data-identifier": m.identifier},
          el("s", {text: m.identifier}),
          " → " + (m.courier_id === null ? T.unassigned
                   : T.now_with + " " + courierName(m.courier_id))));
      });
      return el("div", {class: "moved-away-box"},
                el("p", {class: "muted", text: T.moved_away}), ul);
    }

    function showPlan(plan, keepStatus) {
      state.plan = plan;
      document.getElementById("plan-progress").value = plan.progress || 0;
      document.getElementById("plan-cost").textContent =
        plan.best_cost === null ? "–" : Math.round(plan.best_cost).toLocaleString();
      if (!keepStatus) {
        status("#" + plan.id + " · " + plan.status_label +
               (plan.error ? " · " + plan.error : ""), plan.status === "failed");
      }
      document.getElementById("plan-status").dataset.status = plan.status;
      document.getElementById("publish").hidden = plan.status !== "succeeded";
      drawPlan(plan);
      renderRoutes(plan);
      renderInForce();
      if (plan.status === "queued" || plan.status === "running") {
        clearTimeout(state.polling);
        state.polling = setTimeout(function () {
          api("GET", ROOT + "api/plans/" + plan.id).then(showPlan)
            .catch(function (e) { status(e.message, true); });
        }, 1000);
      }
    }

    /* What the planning form sends: the chosen couriers, and the ticked items that are
       nobody's or a chosen courier's. A plan for some couriers takes nothing another
       courier was given: their items stay theirs (the API would refuse them by name);
       they are left out, and listed (leftOut) so the dispatcher knows. */
    function planChoice() {
      var courierIds = Array.prototype.map.call(
        document.querySelectorAll("#courier-checks input:checked"),
        function (i) { return +i.value; });
      var mine = {}, holder = {};
      courierIds.forEach(function (c) { mine[c] = true; });
      state.items.forEach(function (it) { holder[it.identifier] = it.courier_id; });
      var ids = [], leftOut = [];
      document.querySelectorAll("#item-checks input:checked").forEach(function (i) {
        var c = holder[i.value];
        if (!c || mine[c]) ids.push(i.value);
        else leftOut.push({identifier: i.value, courier_id: c});
      });
      return {courierIds: courierIds, ids: ids, leftOut: leftOut};
    }

    /* The note above the start button: how many ticked parcels belong to couriers not
       chosen and are left out, and which (the first few; all in its title). Kept up
       to date as couriers and items are ticked and the day's data changes, so it is
       there before the plan is started and while it is made. Text only. */
    var LEFT_OUT_SHOWN = 5;
    function noteLeftOut() {
      var node = document.getElementById("left-out-note");
      var left = planChoice().leftOut;
      node.dataset.count = left.length;
      node.hidden = !left.length;
      if (!left.length) { node.textContent = ""; node.title = ""; return; }
      var named = left.map(function (l) {
        return l.identifier + " (" + courierName(l.courier_id) + ")";
      });
      var shown = named.slice(0, LEFT_OUT_SHOWN).join(", ");
      if (named.length > LEFT_OUT_SHOWN) {
        shown += ", " + fill(T.and_more, {n: named.length - LEFT_OUT_SHOWN});
      }
      node.textContent = fill(T.ticked_elsewhere, {n: left.length, items: shown});
      node.title = named.join("\n");
    }
    ["item-checks", "courier-checks"].forEach(function (id) {
      document.getElementById(id).addEventListener("change", noteLeftOut);
    });

    document.getElementById("start-plan").addEventListener("click", function () {
      var btn = this;
      var choice = planChoice();
      var courierIds = choice.courierIds, ids = choice.ids;
      noteLeftOut();
      var rebalance = document.getElementById("rebalance").checked;
      var body = {date: cfg.date, courier_ids: courierIds, identifiers: ids,
        time_limit_s: parseFloat(document.getElementById("time-limit").value),
        warm_start: document.getElementById("warm-start").checked,
        keep_assignments: !rebalance};
      // what moving a parcel given out costs: only a rebalancing plan takes it (an
      // empty box leaves it to the server's default)
      var cost = document.getElementById("move-cost").value;
      if (rebalance && cost !== "") body.move_cost_m = Number(cost);
      btn.disabled = true;
      status("…");
      userAction();
      api("POST", ROOT + "api/plans", body)
        .then(actionDone, function (e) { actionDone(); throw e; })
        .then(showPlan)
        .catch(function (e) { status(e.message, true); })
        .then(function () { btn.disabled = false; return loadDay(); });
    });

    // the move cost is a rebalancing plan's: its box is live only with "may move" ticked
    document.getElementById("rebalance").addEventListener("change", function () {
      document.getElementById("move-cost").disabled = !this.checked;
    });

    document.getElementById("publish").addEventListener("click", function () {
      if (busy) return;
      // a plan whose routes break their limits is published only knowingly; and what
      // is published is the version on the screen: changed since (an edit in another
      // tab), the publish is refused (409) and the plan shown again as it is now
      var body = {base: state.plan.version};
      if (hasIssues(state.plan)) {
        if (!window.confirm(T.confirm_publish_issues)) {
          status(T.publish_not_confirmed, true);
          return;
        }
        body.accept_issues = true;
      }
      setBusy(true);
      userAction();
      api("POST", ROOT + "api/plans/" + state.plan.id + "/publish", body)
        .then(actionDone, function (e) { actionDone(); throw e; })
        .then(function (plan) { setBusy(false); showPlan(plan); })
        .catch(function (e) { setBusy(false); status(problemText(e), true); })
        .then(loadDay);
    });

    function setAll(on) {
      state.itemsTouched = true;
      document.querySelectorAll("#item-checks input").forEach(function (i) { i.checked = on; });
      noteLeftOut();
    }
    document.getElementById("item-checks").addEventListener("change", function () {
      state.itemsTouched = true;
    });
    document.getElementById("items-all").addEventListener("click", function () { setAll(true); });
    document.getElementById("items-none").addEventListener("click", function () { setAll(false); });

    function ago(s) {
      if (s < 90) return s + " s";
      if (s < 5400) return Math.round(s / 60) + " min";
      return Math.round(s / 3600) + " h";
    }

    function loadPositions() {
      return api("GET", ROOT + "api/positions").then(function (data) {
        var list = document.getElementById("positions");
        list.textContent = "";
        if (courierLayer) courierLayer.clearLayers();
        data.couriers.forEach(function (c) {
          var p = c.position;
          list.appendChild(el("li", {"data-courier": c.courier_id},
            el("span", {class: "swatch", style: "background:" + colour(c.courier_id)}),
            (names[c.courier_id] ? courierName(c.courier_id) : c.username) + " · ", el("span", {class: "muted",
              text: p ? ago(p.age_s) + " " + T.ago : T.no_position})));
          if (courierLayer && p) {
            L.circleMarker([p.lat, p.lon], {radius: 9, weight: 4, color: colour(c.courier_id),
              fillColor: "#fff", fillOpacity: 1, className: "courier-marker"})
              .bindTooltip(tip(c.username + " · " + ago(p.age_s) + " " + T.ago))
              .addTo(courierLayer);
          }
        });
      }).catch(function () { /* the next poll retries */ });
    }

    loadDay();
    loadPositions();
    setInterval(function () { if (!document.hidden) loadPositions(); }, 10000);
  }

  /* ------------------------------------------------------------ item / complaint */
  function initTrail() {
    var data = jsonOf("trail-data");
    var cfg = {tileUrl: document.body.dataset.tiles, attribution: ""};
    var box = document.getElementById("trail-map");
    if (!data || !box || typeof L === "undefined") return;
    var pts = [];
    var map = L.map(box);
    if (cfg.tileUrl) tiles(map, cfg);
    if (data.address) {
      L.circleMarker(data.address, {radius: 7, color: "#000", fillColor: "#f6c700",
        fillOpacity: 1, className: "address-marker"}).addTo(map);
      pts.push(data.address);
    }
    data.trails.forEach(function (tr) {
      if (tr.points.length) {
        L.polyline(tr.points, {color: "#0b5cab", weight: 3, className: "trail-line"})
          .bindTooltip(tip(tr.code + " " + tr.time)).addTo(map);
        pts = pts.concat(tr.points);
      }
      if (tr.event) {
        L.circleMarker(tr.event, {radius: 6, color: tr.code === "EMI" ? "#1a7f37" : "#b00020",
          fillOpacity: 1, className: "attempt-marker"}).bindTooltip(tip(tr.code + " " + tr.time))
          .addTo(map);
        pts.push(tr.event);
      }
    });
    if (pts.length) map.fitBounds(L.latLngBounds(pts).pad(0.3), {maxZoom: 17});
    else box.hidden = true;
  }

  /* ------------------------------------------------------------ quality charts */
  function initQuality() {
    var d = jsonOf("quality-data");
    if (!d || typeof Chart === "undefined") return;
    var T = d.labels;
    function pct(a) { return a.map(function (v) { return v === null ? null : v * 100; }); }
    // a fresh options object per chart: Chart.js writes resolved scales into it
    function common() { return {responsive: true, maintainAspectRatio: false, animation: false}; }
    new Chart(document.getElementById("chart-rates"), {type: "line", data: {labels: d.dates,
      datasets: [{label: T.on_time_rate + " (%)", data: pct(d.on_time), borderColor: "#0b5cab",
                  spanGaps: true},
                 {label: T.first_attempt_rate + " (%)", data: pct(d.first_attempt),
                  borderColor: "#1a7f37", spanGaps: true}]},
      options: Object.assign({scales: {y: {min: 0, max: 100}}}, common())});
    new Chart(document.getElementById("chart-volume"), {type: "bar", data: {labels: d.dates,
      datasets: [{label: T.delivered, data: d.delivered, backgroundColor: "#1a7f37"},
                 {label: T.failed_attempts, data: d.failed, backgroundColor: "#b00020"}]},
      options: common()});
    new Chart(document.getElementById("chart-reasons"), {type: "bar", data: {
      labels: Object.keys(d.reasons), datasets: [{label: T.failed_by_reason,
        data: Object.values(d.reasons), backgroundColor: "#f58231"}]},
      options: Object.assign({indexAxis: "y"}, common())});
    new Chart(document.getElementById("chart-complaints"), {type: "bar", data: {labels: d.dates,
      datasets: [{label: T.complaints_opened, data: d.opened, backgroundColor: "#911eb4"},
                 {label: T.complaints_closed, data: d.closed, backgroundColor: "#42d4f4"}]},
      options: common()});
  }

  var page = document.body.dataset.page;
  if (page === "map") initMap();
  if (page === "item") initTrail();
  if (page === "quality") initQuality();
  tickSla();
  setInterval(tickSla, 30000);
})();
