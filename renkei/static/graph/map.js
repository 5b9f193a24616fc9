// The supply-chain map (templates/graph/map.html): draws the JSON of /map/data.json as SVG,
// with zoom, pan, filters, search, a side panel and the highlight of an impact result.
// Positions come from the server (renkei/graph/layout.py); this file only draws and reacts.
(function () {
  "use strict";
  var app = document.getElementById("map-app");
  if (!app) {
    return;
  }
  var L = JSON.parse(document.getElementById("map-labels").textContent);
  var NS = "http://www.w3.org/2000/svg";
  var svg = document.getElementById("map-svg");
  var canvas = document.getElementById("map-canvas");
  var panel = document.getElementById("map-panel");
  var statusLine = document.getElementById("map-status");
  var backButton = document.getElementById("map-back");
  var modeSelect = document.getElementById("map-mode");
  var clearButton = document.getElementById("map-impact-clear");
  var search = document.getElementById("map-q");
  var results = document.getElementById("map-results");
  var filters = document.getElementById("map-filters");
  var LABEL_MIN_SCALE = 0.45;
  var READABLE_SCALE = 0.7;
  var MAX_LABEL = 12;

  var state = {
    data: null, nodes: [], byId: {}, edgesByPair: {}, groupEls: {}, selected: null,
    impact: null, expanded: false, k: 1, tx: 0, ty: 0
  };
  var viewport = null;

  function fmt(template, values) {
    return template.replace(/%\((\w+)\)[sd]/g, function (match, name) {
      return values[name] === undefined ? match : String(values[name]);
    });
  }

  function make(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach(function (key) {
      node.setAttribute(key, attrs[key]);
    });
    if (parent) {
      parent.appendChild(node);
    }
    return node;
  }

  function html(name, attrs, text) {
    var node = document.createElement(name);
    Object.keys(attrs || {}).forEach(function (key) {
      node.setAttribute(key, attrs[key]);
    });
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }
    return node;
  }

  function withParams(url, params) {
    var parsed = new URL(url, window.location.href);
    Object.keys(params).forEach(function (key) {
      if (params[key] !== undefined && params[key] !== null && params[key] !== "") {
        parsed.searchParams.set(key, params[key]);
      }
    });
    return parsed.pathname + parsed.search;
  }

  function getJson(url, params) {
    return fetch(withParams(url, params || {}), {
      credentials: "same-origin", headers: {"Accept": "application/json"}
    }).then(function (response) {
      if (!response.ok) {
        throw new Error(String(response.status));
      }
      return response.json();
    });
  }

  function shorten(text) {
    return text.length > MAX_LABEL ? text.slice(0, MAX_LABEL - 1) + "…" : text;
  }

  function setStatus(text) {
    statusLine.textContent = text;
  }

  // --- zoom and pan -------------------------------------------------------------------------

  function applyTransform() {
    if (viewport) {
      viewport.setAttribute("transform", "translate(" + state.tx + "," + state.ty + ") scale(" + state.k + ")");
    }
    svg.classList.toggle("far", state.k < LABEL_MIN_SCALE);
  }

  // The whole drawing in view. READABLE (first drawing): when that would make the labels too
  // small (a large map, a phone), start at a legible scale at the left edge instead; the
  // "fit" button still shows everything.
  function fit(readable) {
    if (!state.data) {
      return;
    }
    var width = svg.clientWidth || 800;
    var height = svg.clientHeight || 500;
    var k = Math.min(width / state.data.width, height / state.data.height, 1.4);
    state.k = k;
    state.tx = (width - state.data.width * k) / 2;
    state.ty = (height - state.data.height * k) / 2;
    if (readable === true && k < LABEL_MIN_SCALE) {
      state.k = READABLE_SCALE;
      state.tx = 0;
      state.ty = Math.max(0, (height - state.data.height * state.k) / 2);
    }
    applyTransform();
  }

  function zoomAt(factor, cx, cy) {
    var k = Math.max(0.05, Math.min(4, state.k * factor));
    state.tx = cx - (cx - state.tx) * (k / state.k);
    state.ty = cy - (cy - state.ty) * (k / state.k);
    state.k = k;
    applyTransform();
  }

  // On a phone the panel floats over the lower half of the map (map.css).
  function panelCoversMap() {
    return window.getComputedStyle(panel).position === "absolute";
  }

  function centreOn(x, y, minScale) {
    if (minScale && state.k < minScale) {
      state.k = minScale;
    }
    state.tx = svg.clientWidth / 2 - x * state.k;
    state.ty = svg.clientHeight * (panelCoversMap() ? 0.22 : 0.5) - y * state.k;
    applyTransform();
  }

  function pointIn(event) {
    var box = svg.getBoundingClientRect();
    return {x: event.clientX - box.left, y: event.clientY - box.top};
  }

  svg.addEventListener("wheel", function (event) {
    event.preventDefault();
    var at = pointIn(event);
    zoomAt(Math.exp(-event.deltaY * 0.0015), at.x, at.y);
  }, {passive: false});

  document.querySelectorAll("[data-zoom]").forEach(function (button) {
    button.addEventListener("click", function () {
      var how = button.dataset.zoom;
      if (how === "fit") {
        fit();
      } else {
        zoomAt(how === "in" ? 1.3 : 1 / 1.3, svg.clientWidth / 2, svg.clientHeight / 2);
      }
    });
  });

  var pointers = {};
  var drag = null;
  svg.addEventListener("pointerdown", function (event) {
    pointers[event.pointerId] = pointIn(event);
    var ids = Object.keys(pointers);
    if (ids.length === 1) {
      drag = {start: pointers[event.pointerId], tx: state.tx, ty: state.ty, moved: false,
              target: event.target};
    } else if (ids.length === 2) {
      var a = pointers[ids[0]], b = pointers[ids[1]];
      drag = {pinch: Math.hypot(a.x - b.x, a.y - b.y), k: state.k, moved: true};
    }
    svg.setPointerCapture(event.pointerId);
  });
  svg.addEventListener("pointermove", function (event) {
    if (!pointers[event.pointerId] || !drag) {
      return;
    }
    pointers[event.pointerId] = pointIn(event);
    var ids = Object.keys(pointers);
    if (ids.length === 2 && drag.pinch) {
      var a = pointers[ids[0]], b = pointers[ids[1]];
      var distance = Math.hypot(a.x - b.x, a.y - b.y);
      zoomAt((drag.k * distance / drag.pinch) / state.k, (a.x + b.x) / 2, (a.y + b.y) / 2);
      return;
    }
    var at = pointers[event.pointerId];
    var dx = at.x - drag.start.x, dy = at.y - drag.start.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 5) {
      return;
    }
    drag.moved = true;
    svg.classList.add("panning");
    state.tx = drag.tx + dx;
    state.ty = drag.ty + dy;
    applyTransform();
  });
  function release(event) {
    var was = drag;
    delete pointers[event.pointerId];
    if (Object.keys(pointers).length === 0) {
      drag = null;
      svg.classList.remove("panning");
    }
    if (event.type === "pointerup" && was && !was.moved && !was.pinch) {
      activate(was.target);
    }
  }
  svg.addEventListener("pointerup", release);
  svg.addEventListener("pointercancel", release);

  function activate(target) {
    var node = target && target.closest ? target.closest("[data-i]") : null;
    if (node) {
      select(state.nodes[Number(node.dataset.i)]);
      return;
    }
    var group = target && target.closest ? target.closest("[data-g]") : null;
    if (group) {
      openGroup(group.dataset.g);
    }
  }

  svg.addEventListener("keydown", function (event) {
    if (event.key === "Enter" || event.key === " ") {
      var target = event.target.closest("[data-i],[data-g]");
      if (target) {
        event.preventDefault();
        activate(target);
      }
    }
  });

  // --- drawing ------------------------------------------------------------------------------

  function reset() {
    while (svg.firstChild) {
      svg.removeChild(svg.firstChild);
    }
    var defs = make("defs", {}, svg);
    [["arrow", "arrow"], ["arrow-hit", "arrow hit"]].forEach(function (pair) {
      var marker = make("marker", {id: pair[0], viewBox: "0 0 10 10", refX: "21", refY: "5",
                                   markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse",
                                   markerUnits: "userSpaceOnUse"}, defs);
      make("path", {d: "M0,0 L10,5 L0,10 z", "class": pair[1]}, marker);
    });
    viewport = make("g", {"class": "viewport"}, svg);
    state.nodes = [];
    state.byId = {};
    state.edgesByPair = {};
    state.groupEls = {};
    state.selected = null;
  }

  function curve(x1, y1, x2, y2) {
    if (Math.abs(x1 - x2) < 1) {
      var bulge = 50 + Math.min(120, Math.abs(y2 - y1) / 4);
      return "M" + x1 + "," + y1 + " C" + (x1 + bulge) + "," + y1 + " " + (x2 + bulge) + "," + y2 + " " + x2 + "," + y2;
    }
    var mx = (x1 + x2) / 2;
    return "M" + x1 + "," + y1 + " C" + mx + "," + y1 + " " + mx + "," + y2 + " " + x2 + "," + y2;
  }

  function drawNodes(data) {
    reset();
    state.data = data;
    svg.dataset.view = "nodes";
    var heads = make("g", {"class": "columns"}, viewport);
    data.columns.forEach(function (column) {
      var text = make("text", {x: column.x - 12, y: 28, "class": "column-label"}, heads);
      text.textContent = column.label + " (" + column.count + ")";
    });
    var edgeLayer = make("g", {"class": "edges"}, viewport);
    var nodeLayer = make("g", {"class": "nodes"}, viewport);
    data.nodes.forEach(function (node, i) {
      node.index = i;
      node.edges = [];
      state.nodes.push(node);
      state.byId[node.id] = node;
    });
    data.edges.forEach(function (edge) {
      var a = state.nodes[edge[0]], b = state.nodes[edge[1]];
      var path = make("path", {d: curve(a.x, a.y, b.x, b.y), "class": "edge ek-" + edge[2],
                               "marker-end": "url(#arrow)"}, edgeLayer);
      make("title", {}, path).textContent = a.name + " → " + b.name + " (" + L.edges[edge[2]] + ")";
      var record = {el: path, a: a, b: b};
      a.edges.push(record);
      b.edges.push(record);
      [a.id + "\u0000" + b.id, b.id + "\u0000" + a.id].forEach(function (key) {
        (state.edgesByPair[key] = state.edgesByPair[key] || []).push(record);
      });
    });
    state.nodes.forEach(function (node) {
      var classes = "node kind-" + node.kind + (node.level ? " level-" + node.level : "");
      var g = make("g", {"class": classes, transform: "translate(" + node.x + "," + node.y + ")",
                         "data-i": node.index, "data-id": node.id, tabindex: "0", role: "button",
                         "aria-label": L.kinds[node.kind] + " " + node.name}, nodeLayer);
      if (node.level) {
        make("circle", {r: 13, "class": "ring"}, g);
      }
      if (node.kind === "supplier" || node.kind === "organization") {
        make("circle", {r: 9, "class": "dot"}, g);
      } else {
        make("rect", {x: -8, y: -8, width: 16, height: 16, rx: node.kind === "data" ? 8 : 3, "class": "dot"}, g);
      }
      var label = make("text", {x: 16, y: 4, "class": "label"}, g);
      label.textContent = shorten(node.name);
      make("title", {}, g).textContent = node.name + " (" + node.id + ")";
      node.el = g;
    });
    fit(true);
    applyFilters();
  }

  // One box per group in a row (a column on a portrait screen), edge counts on arcs beside it.
  function drawGroups(data) {
    reset();
    var vertical = svg.clientHeight > svg.clientWidth;
    var step = 120;
    var groups = data.groups.map(function (group, i) {
      var copy = Object.assign({}, group);
      if (vertical) {
        copy.x = 200;
        copy.y = 70 + i * step;
      }
      return copy;
    });
    state.data = vertical ? Object.assign({}, data, {width: 400, height: 140 + (groups.length - 1) * step}) : data;
    svg.dataset.view = "groups";
    var edgeLayer = make("g", {"class": "edges"}, viewport);
    var boxLayer = make("g", {"class": "groups"}, viewport);
    data.edges.forEach(function (edge) {
      if (edge[0] === edge[1]) {
        return;
      }
      var a = groups[edge[0]], b = groups[edge[1]];
      var along = vertical ? Math.abs(a.y - b.y) : Math.abs(a.x - b.x);
      var lift = vertical ? 95 + 14 * edge[2] + along / 12 : 40 + 18 * edge[2] + along / 8;
      var side = edge[2] % 2 === 0 ? -1 : 1;
      var cx = vertical ? a.x + side * lift : (a.x + b.x) / 2;
      var cy = vertical ? (a.y + b.y) / 2 : a.y + side * lift;
      var path = make("path", {d: "M" + a.x + "," + a.y + " Q" + cx + "," + cy + " " + b.x + "," + b.y,
                               "class": "edge ek-" + edge[2]}, edgeLayer);
      make("title", {}, path).textContent = a.label + " → " + b.label + ": " + L.edges[edge[2]] + " × " + edge[3];
      var text = make("text", {x: vertical ? a.x + side * lift / 2 : cx, y: vertical ? cy + 4 : a.y + side * lift / 2 + 4,
                               "class": "edge-count"}, edgeLayer);
      text.textContent = String(edge[3]);
    });
    groups.forEach(function (group) {
      var kind = group.key.split(":")[0];
      var g = make("g", {"class": "group kind-" + kind, transform: "translate(" + group.x + "," + group.y + ")",
                         "data-g": group.key, tabindex: "0", role: "button",
                         "aria-label": group.label + " " + group.count}, boxLayer);
      make("rect", {x: -85, y: -34, width: 170, height: 68, rx: 8, "class": "box"}, g);
      var title = make("text", {x: 0, y: -8, "class": "group-label"}, g);
      title.textContent = group.label;
      var count = make("text", {x: 0, y: 16, "class": "group-count"}, g);
      count.textContent = String(group.count);
      var hit = make("text", {x: 0, y: 52, "class": "group-hit"}, g);
      state.groupEls[group.key] = {el: g, hit: hit, group: group};
    });
    fit();
    applyFilters();
    setStatus(fmt(L.nodes_edges, {nodes: data.total, edges: data.edge_total}) + " — " + L.group_hint);
  }

  function show(data) {
    panel.hidden = true;
    if (data.view === "groups") {
      state.expanded = false;
      backButton.hidden = true;
      drawGroups(data);
    } else {
      drawNodes(data);
      var status = fmt(L.nodes_edges, {nodes: data.nodes.length, edges: data.edges.length});
      if (data.core_total !== undefined) {
        status += " — " + fmt(L.shown_of, {shown: data.core_shown, total: data.core_total});
      }
      setStatus(status);
    }
    if (state.impact) {
      paintImpact();
    }
  }

  function load(params) {
    return getJson(app.dataset.dataUrl, params).then(show).catch(function () {
      setStatus(L.load_error);
    });
  }

  function openGroup(key) {
    load({group: key}).then(function () {
      state.expanded = true;
      backButton.hidden = false;
    });
  }

  backButton.addEventListener("click", function () {
    load({view: "groups"});
  });

  // --- filters ------------------------------------------------------------------------------

  function filterValues() {
    var kinds = {};
    app.querySelectorAll("input[name=kind]").forEach(function (box) {
      kinds[box.value] = box.checked;
    });
    return {kinds: kinds, tier: document.getElementById("map-tier").value,
            level: document.getElementById("map-level").value};
  }

  function tierMatches(tier, wanted) {
    if (!wanted) {
      return true;
    }
    var max = document.getElementById("map-tier").options.length - 1;
    return Number(wanted) === max ? tier >= max : tier === Number(wanted);
  }

  function applyFilters() {
    var f = filterValues();
    if (svg.dataset.view === "groups") {
      Object.keys(state.groupEls).forEach(function (key) {
        var parts = key.split(":");
        var visible = f.kinds[parts[0]] !== false && (parts[0] !== "supplier" || tierMatches(Number(parts[1]), f.tier));
        state.groupEls[key].el.classList.toggle("hidden", !visible);
      });
      return;
    }
    state.nodes.forEach(function (node) {
      var visible = f.kinds[node.kind] !== false;
      if (visible && node.kind === "supplier") {
        visible = tierMatches(node.tier || 1, f.tier) &&
          (!f.level || (f.level === "none" ? !node.level : node.level === f.level));
      }
      node.hidden = !visible;
      node.el.classList.toggle("hidden", !visible);
    });
    state.nodes.forEach(function (node) {
      node.edges.forEach(function (edge) {
        edge.el.classList.toggle("hidden", edge.a.hidden || edge.b.hidden);
      });
    });
  }

  app.querySelectorAll("input[name=kind], #map-tier, #map-level").forEach(function (input) {
    input.addEventListener("change", applyFilters);
  });
  if (window.matchMedia("(max-width: 640px)").matches) {
    filters.open = false;
  }

  // --- selection and the side panel ---------------------------------------------------------

  function select(node) {
    if (state.selected && state.selected.el) {
      state.selected.el.classList.remove("selected");
      state.selected.edges.forEach(function (edge) {
        edge.el.classList.remove("selected");
      });
    }
    state.selected = node;
    if (!node) {
      panel.hidden = true;
      return;
    }
    node.el.classList.add("selected");
    node.edges.forEach(function (edge) {
      edge.el.classList.add("selected");
    });
    showPanel(node);
  }

  function showPanel(node) {
    panel.textContent = "";
    var close = html("button", {type: "button", "class": "link-button map-close", "aria-label": L.close}, "×");
    close.addEventListener("click", function () {
      select(null);
    });
    panel.appendChild(close);
    panel.appendChild(html("p", {"class": "small muted kind-line"}, L.kinds[node.kind]));
    panel.appendChild(html("h2", {"class": "node-name"}, node.name));
    var props = html("dl", {"class": "props"});
    function row(label, value) {
      if (value === undefined || value === null || value === "") {
        return;
      }
      props.appendChild(html("dt", {}, label));
      var dd = html("dd");
      if (value instanceof Node) {
        dd.appendChild(value);
      } else {
        dd.textContent = value;
      }
      props.appendChild(dd);
    }
    row(L.node_id, node.id);
    if (node.kind === "supplier") {
      row(L.tier, node.tier);
      var badge = html("span", {"class": "badge " + (node.level ? "risk-" + node.level : "badge-neutral")},
                       node.level ? L.levels[node.level] : L.no_rating);
      row(L.level, badge);
    }
    row(L.degree, node.degree);
    node.attrs.forEach(function (attribute) {
      if (attribute[0] !== "tier") {
        row(attribute[1], attribute[2]);
      }
    });
    panel.appendChild(props);
    var links = html("ul", {"class": "map-links"});
    function link(href, text) {
      var li = html("li");
      li.appendChild(html("a", {href: href}, text));
      links.appendChild(li);
    }
    link(node.url, L.open_node);
    if (node.supplier_url) {
      link(node.supplier_url, L.open_supplier);
    }
    link(withParams(node.impact_url, {mode: modeSelect.value}), L.impact_page + " (" + L.modes[modeSelect.value] + ")");
    panel.appendChild(links);
    var run = html("button", {type: "button", "class": "btn btn-primary btn-small"}, L.show_impact);
    run.addEventListener("click", function () {
      if (panelCoversMap()) {
        panel.hidden = true;
      }
      runImpact(node.id, modeSelect.value);
    });
    panel.appendChild(run);
    panel.hidden = false;
  }

  // --- impact -------------------------------------------------------------------------------

  function clearPaint() {
    svg.classList.remove("dimmed");
    svg.querySelectorAll(".hit, .origin").forEach(function (el) {
      el.classList.remove("hit", "origin", "effect-compromised", "effect-stops", "effect-degraded");
    });
    svg.querySelectorAll("path.edge[marker-end]").forEach(function (el) {
      el.setAttribute("marker-end", "url(#arrow)");
    });
    Object.keys(state.groupEls).forEach(function (key) {
      state.groupEls[key].hit.textContent = "";
    });
  }

  function paintImpact() {
    clearPaint();
    var result = state.impact;
    svg.classList.add("dimmed");
    if (svg.dataset.view === "groups") {
      Object.keys(result.groups).forEach(function (key) {
        var group = state.groupEls[key];
        if (group) {
          group.el.classList.add("hit");
          group.hit.textContent = fmt(L.in_group, {count: result.groups[key]});
        }
      });
      var start = state.groupEls[result.start_group];
      if (start) {
        start.el.classList.add("hit", "origin");
      }
      return;
    }
    var origin = state.byId[result.node];
    if (origin) {
      origin.el.classList.add("hit", "origin");
    }
    result.reached.forEach(function (reached) {
      var node = state.byId[reached.id];
      if (node) {
        node.el.classList.add("hit", "effect-" + reached.effect);
      }
      for (var n = 1; n < reached.path.length; n++) {
        (state.edgesByPair[reached.path[n - 1] + "\u0000" + reached.path[n]] || []).forEach(function (edge) {
          edge.el.classList.add("hit");
          edge.el.setAttribute("marker-end", "url(#arrow-hit)");
        });
      }
    });
  }

  function runImpact(key, mode) {
    if (!key) {
      setStatus(L.select_first);
      return;
    }
    getJson(app.dataset.impactUrl, {node: key, mode: mode}).then(function (result) {
      state.impact = result;
      clearButton.hidden = false;
      paintImpact();
      var text = result.total === 0 ? L.reached_none :
        result.total > result.reached.length ?
          fmt(L.reached_more, {count: result.total, shown: result.reached.length}) :
          fmt(L.reached, {count: result.total});
      setStatus(text);
      statusLine.appendChild(document.createTextNode(" "));
      statusLine.appendChild(html("a", {href: result.url}, L.impact_page));
    }).catch(function () {
      setStatus(L.load_error);
    });
  }

  document.getElementById("map-impact").addEventListener("submit", function (event) {
    event.preventDefault();
    runImpact(state.selected ? state.selected.id : null, modeSelect.value);
  });
  clearButton.addEventListener("click", function () {
    state.impact = null;
    clearButton.hidden = true;
    clearPaint();
    setStatus("");
  });

  // --- search -------------------------------------------------------------------------------

  function choose(id) {
    results.hidden = true;
    var node = state.byId[id];
    if (node && !state.expanded && svg.dataset.view === "nodes") {
      if (node.hidden) {
        app.querySelectorAll("input[name=kind]").forEach(function (box) {
          box.checked = true;
        });
        document.getElementById("map-tier").value = "";
        document.getElementById("map-level").value = "";
        applyFilters();
      }
      centreOn(node.x, node.y, 0.9);
      select(node);
      return;
    }
    load({focus: id}).then(function () {
      state.expanded = true;
      backButton.hidden = svg.dataset.view !== "nodes" || !app.dataset.grouped;
      var found = state.byId[id];
      if (found) {
        centreOn(found.x, found.y, 0.9);
        select(found);
      }
    });
  }

  function listResults(found) {
    results.textContent = "";
    if (!found.length) {
      results.appendChild(html("li", {"class": "muted"}, L.no_match));
    }
    found.forEach(function (item) {
      var li = html("li");
      var button = html("button", {type: "button", "class": "link-button"}, item.name);
      button.appendChild(html("span", {"class": "muted small"}, " " + item.id + " · " + L.kinds[item.kind]));
      button.addEventListener("click", function () {
        search.value = item.name;
        choose(item.id);
      });
      li.appendChild(button);
      results.appendChild(li);
    });
    results.hidden = false;
  }

  var searchTimer = null;
  search.addEventListener("input", function () {
    var query = search.value.trim().toLowerCase();
    window.clearTimeout(searchTimer);
    if (!query) {
      results.hidden = true;
      return;
    }
    if (svg.dataset.view === "nodes" && !app.dataset.grouped) {
      listResults(state.nodes.filter(function (node) {
        return node.name.toLowerCase().indexOf(query) >= 0 || node.id.toLowerCase().indexOf(query) >= 0;
      }).slice(0, 20));
      return;
    }
    searchTimer = window.setTimeout(function () {
      getJson(app.dataset.searchUrl, {q: query}).then(function (answer) {
        listResults(answer.results);
      });
    }, 200);
  });
  search.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault();
      var first = results.querySelector("button");
      if (first) {
        first.click();
      }
    } else if (event.key === "Escape") {
      results.hidden = true;
    }
  });

  // --- start ----------------------------------------------------------------------------------

  var params = new URLSearchParams(window.location.search);
  var focus = params.get("focus");
  var impactKey = params.get("impact");
  if (params.get("mode")) {
    modeSelect.value = params.get("mode");
  }
  getJson(app.dataset.dataUrl, {}).then(function (data) {
    if (data.view === "groups") {
      app.dataset.grouped = "1";
    }
    show(data);
    if (focus) {
      choose(focus);
    }
    if (impactKey) {
      if (data.view === "nodes" && state.byId[impactKey]) {
        select(state.byId[impactKey]);
      }
      runImpact(impactKey, modeSelect.value);
    }
  }).catch(function () {
    setStatus(L.load_error);
  });
  // Refit when the width changes (a rotated phone), not when a phone's address bar hides.
  var lastWidth = svg.clientWidth;
  window.addEventListener("resize", function () {
    if (state.data && !drag && svg.clientWidth !== lastWidth) {
      lastWidth = svg.clientWidth;
      fit();
    }
  });
})();
