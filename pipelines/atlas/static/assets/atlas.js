/* Atlas territoires: shared front-end code.
   Data loading (script files calling ATLAS.receive), formatting, classes, palettes,
   canvas map, and the code of each page (ATLAS.start('<page>')). Plain ES2020, no library. */
(function () {
  'use strict';

  const A = window.ATLAS = window.ATLAS || {};
  A.meta = null;
  A.timing = { start: performance.now() };

  /* ---------------------------------------------------------------- loading */

  const store = Object.create(null);    // key -> payload
  const waiting = Object.create(null);  // key -> {resolve, reject}
  const promises = Object.create(null); // key -> Promise

  A.receive = function (key, payload) {
    store[key] = payload;
    if (key === 'meta') A.meta = payload;
    const w = waiting[key];
    if (w) { delete waiting[key]; w.resolve(payload); }
  };

  A.dataPath = key => 'data/' + key + '.js';

  A.load = function (key) {
    if (promises[key]) return promises[key];
    if (key in store) return (promises[key] = Promise.resolve(store[key]));
    if (!/^[A-Za-z0-9_\-]+(\/[A-Za-z0-9_\-]+)*$/.test(key)) {
      return (promises[key] = Promise.reject(new Error('Clé de données invalide : ' + key)));
    }
    promises[key] = new Promise((resolve, reject) => {
      waiting[key] = { resolve, reject };
      const s = document.createElement('script');
      s.src = A.dataPath(key);
      s.async = true;
      s.onerror = () => {
        delete waiting[key];
        reject(new Error('Données absentes : ' + A.dataPath(key)));
      };
      s.onload = () => {
        // the file ran but did not deliver this key
        if (waiting[key]) {
          delete waiting[key];
          reject(new Error('Données invalides : ' + A.dataPath(key)));
        }
      };
      document.head.appendChild(s);
    });
    return promises[key];
  };

  /* ------------------------------------------------------------ formatting */

  const isNum = v => typeof v === 'number' && isFinite(v);
  A.isNum = isNum;
  A.NODATA = 'Pas de donnée';

  // Plain French number formatting (the tests compare with toLocaleString('fr-FR')).
  A.fmt = v => (isNum(v) ? v.toLocaleString('fr-FR') : A.NODATA);
  A.fmtUnit = (v, unit) => (isNum(v) ? v.toLocaleString('fr-FR') + (unit ? ' ' + unit : '') : A.NODATA);
  A.fmtDigits = (v, digits) => v.toLocaleString('fr-FR', { maximumFractionDigits: digits });
  A.fmtPct = c => (isNum(c) ? c.toLocaleString('fr-FR', { style: 'percent', maximumFractionDigits: 0 }) : 'inconnue');
  A.fmtDate = iso => {
    const d = new Date(iso);
    if (!iso || isNaN(d)) return iso || '';
    return d.toLocaleString('fr-FR', { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' }) + ' UTC';
  };
  A.fmtDay = iso => {
    const d = new Date(iso);
    if (!iso || isNaN(d)) return iso || '';
    return d.toLocaleDateString('fr-FR', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
  };
  A.ordinal = (n, fem) => (n === 1 ? (fem ? '1re' : '1er') : n + 'e');
  A.fmtThreshold = t => {
    if (typeof t === 'number') return A.fmt(t);
    if (typeof t === 'string' && /^-?\d+(\.\d+)?$/.test(t.trim())) return Number(t).toLocaleString('fr-FR');
    return t == null ? '' : String(t);
  };

  // Lower-case the first letter unless the word is an acronym ("EPCI").
  A.lowerFirst = s => (s && s.length > 1 && s[1] === s[1].toLowerCase() ? s[0].toLowerCase() + s.slice(1) : s || '');

  A.norm = s => String(s || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .replace(/œ/g, 'oe').replace(/æ/g, 'ae').replace(/['’\-_.]/g, ' ').replace(/\s+/g, ' ').trim();

  /* -------------------------------------------------------------- DOM help */

  A.el = function (tag, attrs, ...children) {
    const e = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v == null || v === false) continue;
        if (k === 'class') e.className = v;
        else if (k === 'text') e.textContent = v;
        else if (k === 'dataset') Object.assign(e.dataset, v);
        else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
        else e.setAttribute(k, v === true ? '' : v);
      }
    }
    for (const c of children.flat()) {
      if (c == null || c === false) continue;
      e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    }
    return e;
  };
  const el = A.el;

  A.clear = node => { while (node.firstChild) node.removeChild(node.firstChild); return node; };

  A.showError = function (err) {
    let box = document.getElementById('error');
    if (!box) {
      box = el('div', { id: 'error', class: 'error', role: 'alert' });
      const main = document.querySelector('main') || document.body;
      main.insertBefore(box, main.firstChild);
    }
    box.hidden = false;
    box.textContent = (err && err.message) || String(err);
    document.body.dataset.error = '1';
  };

  A.setReady = function () {
    A.timing.ready = performance.now();
    document.body.dataset.ready = '1';
    window.ATLAS_READY = true;
  };

  /* -------------------------------------------------------------- meta help */

  A.level = id => (A.meta.levels || []).find(l => l.id === id) || null;
  A.levelIds = () => (A.meta.levels || []).map(l => l.id);
  A.hasShapes = id => { const l = A.level(id); return !!(l && l.shapes); };
  A.hasPortraits = id => { const l = A.level(id); return !!(l && l.portraits); };
  A.levelLabel = id => { const l = A.level(id); return l ? l.label : id; };
  A.levelOne = id => { const l = A.level(id); return l ? (l.label_one || l.label) : id; };
  A.indicator = id => (A.meta.indicators || []).find(i => i.id === id) || null;
  A.programme = id => (A.meta.programmes || []).find(p => p.id === id) || null;
  A.regionName = code => { const r = (A.meta.regions || []).find(x => x.code === code); return r ? r.name : null; };
  A.departement = code => (A.meta.departements || []).find(x => x.code === code) || null;
  A.departementName = code => { const d = A.departement(code); return d ? d.name : null; };
  A.depOfCommune = code => (String(code).startsWith('97') ? String(code).slice(0, 3) : String(code).slice(0, 2));
  A.portraitBucket = (level, code) => (level === 'commune' ? A.depOfCommune(code) : String(code).slice(-1));
  A.portraitHref = (level, code) => 'portrait.html#' + level + '/' + encodeURIComponent(code);
  A.indicatorHref = (id, level, vintage) => 'indicator.html#' + [id, level, vintage].filter(Boolean).map(encodeURIComponent).join('/');

  // Feminine level nouns, for "1re commune".
  const FEMININE = new Set(['commune', 'region', 'zone_emploi', 'unite_urbaine', 'aire_attraction']);
  A.levelFeminine = id => FEMININE.has(id);

  A.DENSITY = {
    1: 'Grands centres urbains', 2: 'Centres urbains intermédiaires', 3: 'Petites villes', 4: 'Ceintures urbaines',
    5: 'Bourgs ruraux', 6: 'Rural à habitat dispersé', 7: 'Rural à habitat très dispersé',
  };

  // Categories in order of first appearance, each with its indicators.
  A.indicatorsByCategory = function () {
    const groups = new Map();
    for (const ind of A.meta.indicators || []) {
      const cat = ind.category || 'Autres';
      if (!groups.has(cat)) groups.set(cat, []);
      groups.get(cat).push(ind);
    }
    return groups;
  };

  // Levels of an indicator that can be mapped, in meta.levels order.
  A.mapLevels = ind => A.levelIds().filter(l => A.hasShapes(l) && (ind.levels || []).includes(l));

  A.defaultMapLevel = function (ind) {
    const ls = A.mapLevels(ind);
    for (const pref of ['commune', 'departement', 'epci', 'region']) if (ls.includes(pref)) return pref;
    return ls[0] || null;
  };

  const hashParts = () => location.hash.replace(/^#/, '').split('/').filter(s => s !== '').map(s => {
    try { return decodeURIComponent(s); } catch (e) { return s; }
  });
  A.hashParts = hashParts;

  /* ---------------------------------------------------------- classification */

  // Breaks [b0 .. bk]: b0 = min, bk = max; class c holds (b_c, b_c+1], class 0 also holds b0.
  A.quantileBreaks = function (sorted, k) {
    const n = sorted.length;
    const ups = [];
    for (let c = 1; c < k; c++) ups.push(sorted[Math.max(0, Math.ceil((c * n) / k) - 1)]);
    return finishBreaks(sorted, ups);
  };

  // Natural breaks: optimal 1-D partition minimising the within-class sum of squares
  // (Fisher/Jenks criterion), dynamic programming with divide and conquer on the monotone split point.
  A.jenksBreaks = function (sorted, k) {
    const n = sorted.length;
    if (n === 0) return [];
    const uniq = [];
    for (const v of sorted) if (!uniq.length || uniq[uniq.length - 1] !== v) uniq.push(v);
    if (uniq.length <= k) return finishBreaks(sorted, uniq.slice(0, -1));
    const shift = sorted[n >> 1];
    const s1 = new Float64Array(n + 1), s2 = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) {
      const x = sorted[i] - shift;
      s1[i + 1] = s1[i] + x;
      s2[i + 1] = s2[i] + x * x;
    }
    const ssq = (j, i) => { // cost of sorted[j..i]
      const s = s1[i + 1] - s1[j], m = i - j + 1;
      const c = s2[i + 1] - s2[j] - (s * s) / m;
      return c > 0 ? c : 0;
    };
    let prev = new Float64Array(n);
    for (let i = 0; i < n; i++) prev[i] = ssq(0, i);
    const back = [];
    for (let c = 1; c < k; c++) {
      const cur = new Float64Array(n).fill(Infinity);
      const arg = new Int32Array(n);
      const solve = (lo, hi, optLo, optHi) => {
        if (lo > hi) return;
        const mid = (lo + hi) >> 1;
        let best = Infinity, bestJ = Math.max(c, optLo);
        const jHi = Math.min(mid, optHi);
        for (let j = Math.max(c, optLo); j <= jHi; j++) {
          const v = prev[j - 1] + ssq(j, mid);
          if (v < best) { best = v; bestJ = j; }
        }
        cur[mid] = best;
        arg[mid] = bestJ;
        solve(lo, mid - 1, optLo, bestJ);
        solve(mid + 1, hi, bestJ, optHi);
      };
      solve(c, n - 1, c, n - 1);
      back.push(arg);
      prev = cur;
    }
    const ups = [];
    let i = n - 1;
    for (let c = k - 1; c >= 1; c--) {
      const j = back[c - 1][i];
      ups.push(sorted[j - 1]);
      i = j - 1;
    }
    ups.reverse();
    return finishBreaks(sorted, ups);
  };

  function finishBreaks(sorted, ups) {
    const min = sorted[0], max = sorted[sorted.length - 1];
    const out = [min];
    for (const u of ups) if (u < max && u >= out[out.length - 1] && (out.length === 1 || u > out[out.length - 1])) out.push(u);
    if (out.length === 1 || max > out[out.length - 1]) out.push(max);
    if (out.length === 1) out.push(max);
    return out;
  }

  A.classOf = function (v, breaks) {
    let lo = 0, hi = breaks.length - 2;
    if (v <= breaks[1]) return 0;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (v <= breaks[mid + 1]) hi = mid; else lo = mid + 1;
    }
    return lo;
  };

  /* --------------------------------------------------------------- palettes */

  // Sequential, yellow -> green -> blue -> purple (viridis-like stops, colour-blind safe).
  const SEQ_STOPS = ['#fbe723', '#bddf26', '#7ad151', '#44bf70', '#22a884', '#1f918c', '#277f8e',
    '#2f6c8e', '#39568c', '#443f86', '#472a7a'];
  // Diverging sides, from the centre outwards: blues below, orange-browns above.
  const DIV_LOW = ['#d6e6f4', '#abcde6', '#7eb1d6', '#5091c2', '#2f70aa', '#1b528c', '#0f3766'];
  const DIV_HIGH = ['#fde3c2', '#fbc68a', '#f3a252', '#dd7e26', '#b95f12', '#8c440b', '#5c2c06'];
  // Programme tiers: dark blue (tier 1) to light blue.
  const TIER_STOPS = ['#0a2f5c', '#1b4f8a', '#3474b3', '#5b98cc', '#8dbbe0', '#bfd9ee'];
  A.NO_ELIGIBLE = '#e3e3e3';
  A.HATCH = { hatch: true };
  A.HATCH_FADED = { hatch: true, faded: true };

  const hexToRgb = h => [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16)];
  const rgbToHex = c => '#' + c.map(x => Math.round(x).toString(16).padStart(2, '0')).join('');

  // k colours evenly spread over a list of stops (linear interpolation in RGB).
  A.ramp = function (stops, k) {
    if (k <= 1) return [stops[Math.floor(stops.length / 2)]];
    const out = [];
    for (let i = 0; i < k; i++) {
      const t = (i / (k - 1)) * (stops.length - 1);
      const a = Math.floor(t), b = Math.min(stops.length - 1, a + 1), f = t - a;
      const ca = hexToRgb(stops[a]), cb = hexToRgb(stops[b]);
      out.push(rgbToHex(ca.map((x, j) => x + (cb[j] - x) * f)));
    }
    return out;
  };
  A.sequential = k => A.ramp(SEQ_STOPS, k);
  // Categories (density level, FRR, ZRR…): the Okabe-Ito colours, told apart with colour-blindness.
  const CATEGORY_COLOURS = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#f0e442', '#000000'];
  A.categoryClasses = cats => ({
    breaks: [cats[0].rank - 0.5].concat(cats.map(c => c.rank + 0.5)),
    colours: cats.map((_, i) => CATEGORY_COLOURS[i % CATEGORY_COLOURS.length]),
    labels: cats.map(c => c.label),
    centre: null,
  });
  A.categoryLabel = (ind, v) => {
    const c = (ind.categories || []).find(x => x.rank === v);
    return c ? c.label : null;
  };
  A.tierColours = k => A.ramp(TIER_STOPS, Math.max(k, 2)).slice(0, k);
  A.fade = function (hex, amount = 0.72) {
    const c = hexToRgb(hex);
    return rgbToHex(c.map(x => x + (255 - x) * amount));
  };

  // Colour of the j-th class away from the centre on one side that has m classes.
  function sideColour(side, j, m) {
    const lo = m > 5 ? 0 : 1;
    const idx = m === 1 ? 3 : Math.round(lo + (j * (6 - lo)) / (m - 1));
    return side[Math.min(6, idx)];
  }

  /* Classes for an indicator map: {breaks, colours, counts, centre?}. Values: finite numbers.
     Diverging: the France value becomes a break; classes below it are blue, above orange. */
  A.makeClasses = function (values, { k = 5, method = 'quantiles', diverging = false, centre = null } = {}) {
    const sorted = Float64Array.from(values).sort();
    if (!sorted.length) return { breaks: [], colours: [] };
    let breaks = method === 'jenks' ? A.jenksBreaks(sorted, k) : A.quantileBreaks(sorted, k);
    let colours;
    if (diverging && isNum(centre)) {
      if (centre > breaks[0] && centre < breaks[breaks.length - 1] && !breaks.includes(centre)) {
        breaks = breaks.concat([centre]).sort((a, b) => a - b);
      }
      const n = breaks.length - 1;
      const below = [];
      for (let c = 0; c < n; c++) below.push(breaks[c + 1] <= centre);
      const nb = below.filter(Boolean).length, na = n - nb;
      colours = [];
      for (let c = 0; c < n; c++) {
        colours.push(below[c] ? sideColour(DIV_LOW, nb - 1 - c, nb) : sideColour(DIV_HIGH, c - nb, na));
      }
    } else {
      colours = A.sequential(breaks.length - 1);
    }
    return { breaks, colours, centre: diverging ? centre : null };
  };

  // Digits needed so that consecutive bounds read differently.
  A.legendDigits = function (breaks) {
    const span = Math.abs(breaks[breaks.length - 1] - breaks[0]);
    let d = span >= 100 ? 0 : span >= 10 ? 1 : span >= 1 ? 2 : 3;
    for (; d < 6; d++) {
      const txt = breaks.map(b => A.fmtDigits(b, d));
      if (new Set(txt).size === txt.length) break;
    }
    return d;
  };

  /* -------------------------------------------------------------- path bbox */

  const PARAMS = { m: 2, l: 2, h: 1, v: 1, c: 6, s: 4, q: 4, t: 2, a: 7, z: 0 };
  // Bounding box [x0, y0, x1, y1] of an SVG path string (absolute and relative commands).
  A.pathBBox = function (d) {
    const re = /([MmLlHhVvCcSsQqTtAaZz])|(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)/g;
    let cmd = 'M', nums = [], x = 0, y = 0, sx = 0, sy = 0;
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    const add = () => { if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y; };
    const flush = () => {
      const lc = cmd.toLowerCase(), rel = cmd !== cmd.toUpperCase(), np = PARAMS[lc];
      if (!np) return;
      while (nums.length >= np) {
        const p = nums.splice(0, np);
        if (lc === 'h') x = rel ? x + p[0] : p[0];
        else if (lc === 'v') y = rel ? y + p[0] : p[0];
        else {
          const ex = p[np - 2], ey = p[np - 1];
          x = rel ? x + ex : ex; y = rel ? y + ey : ey;
        }
        add();
        if (lc === 'm') { sx = x; sy = y; cmd = rel ? 'l' : 'L'; }
      }
    };
    let m;
    while ((m = re.exec(d)) !== null) {
      if (m[1]) {
        flush();
        cmd = m[1];
        nums = [];
        if (cmd === 'z' || cmd === 'Z') { x = sx; y = sy; }
      } else {
        nums.push(parseFloat(m[2]));
        if (nums.length >= (PARAMS[cmd.toLowerCase()] || Infinity)) flush();
      }
    }
    return x0 <= x1 ? [x0, y0, x1, y1] : null;
  };

  /* ---------------------------------------------------------------- MapView */

  /* Canvas map of one shapes file. opts: {interactive, onHover(i, event), onClick(i, event),
     stroke: 'auto' | 'always' | 'never'}. Colours come from setFills(classOf, styles). */
  class MapView {
    constructor(wrap, opts = {}) {
      this.wrap = wrap;
      this.opts = Object.assign({ interactive: true, buttons: true, stroke: 'auto' }, opts);
      this.canvas = wrap.querySelector('canvas.map-canvas') || wrap.appendChild(el('canvas', { class: 'map-canvas' }));
      this.overlay = wrap.appendChild(el('canvas', { class: 'map-overlay', 'aria-hidden': 'true' }));
      this.ctx = this.canvas.getContext('2d', { alpha: false });
      this.octx = this.overlay.getContext('2d');
      this.pick = document.createElement('canvas');
      this.pctx = this.pick.getContext('2d', { willReadFrequently: true });
      this.zoom = 1; this.cx = 0; this.cy = 0;
      this.hover = -1; this.selected = [];
      this.marker = null;
      this.fadeStroke = false;
      this.frame = 0; this.pickDirty = true; this.pickTimer = 0;
      this._measure();
      if (this.opts.interactive) this._bindEvents();
      if (this.opts.buttons) this._addButtons();
      if (window.ResizeObserver) {
        this._ro = new ResizeObserver(() => { if (this._measure() && this.paths) this.render(); });
        this._ro.observe(wrap);
      }
    }

    setShapes(shapes) {
      const sameBox = this.shapes && this.shapes.width === shapes.width && this.shapes.height === shapes.height;
      this.shapes = shapes;
      this.W = shapes.width; this.H = shapes.height;
      const feats = shapes.features || [];
      this.n = feats.length;
      this.codes = feats.map(f => f[0]);
      this.index = new Map();
      this.codes.forEach((c, i) => this.index.set(c, i));
      this.paths = feats.map(f => new Path2D(f[1]));
      this.bboxes = new Float64Array(this.n * 4).fill(NaN);
      this.pickColours = null;
      this.classOf = new Int32Array(this.n);
      this.styles = ['#cccccc'];
      this._groups = null; this._all = null;
      this.hover = -1; this.selected = []; this.marker = null;
      if (!sameBox) { this.zoom = 1; this.cx = this.W / 2; this.cy = this.H / 2; }
      this.pickDirty = true;
    }

    // classOf[i] indexes styles; styles are colour strings or ATLAS.HATCH.
    setFills(classOf, styles) {
      this.classOf = classOf;
      this.styles = styles;
      this._groups = null;
    }

    code(i) { return i >= 0 ? this.codes[i] : null; }

    bbox(i) {
      const b = this.bboxes;
      if (isNaN(b[4 * i])) {
        const r = A.pathBBox(this.shapes.features[i][1]) || [0, 0, 0, 0];
        b.set(r, 4 * i);
      }
      return [b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]];
    }

    unionBBox(indices) {
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (const i of indices) {
        const b = this.bbox(i);
        if (b[0] < x0) x0 = b[0]; if (b[1] < y0) y0 = b[1];
        if (b[2] > x1) x1 = b[2]; if (b[3] > y1) y1 = b[3];
      }
      return x0 <= x1 ? [x0, y0, x1, y1] : null;
    }

    _measure() {
      const w = Math.max(50, Math.round(this.wrap.clientWidth || 800));
      const h = Math.max(50, Math.round(this.wrap.clientHeight || 600));
      const dpr = Math.min(2, window.devicePixelRatio || 1);
      if (w === this.cssW && h === this.cssH && dpr === this.dpr) return false;
      this.cssW = w; this.cssH = h; this.dpr = dpr;
      for (const c of [this.canvas, this.overlay]) {
        c.width = Math.round(w * dpr); c.height = Math.round(h * dpr);
        c.style.width = w + 'px'; c.style.height = h + 'px';
      }
      this.pick.width = w; this.pick.height = h;
      this.pickDirty = true;
      return true;
    }

    _fit() { return Math.min(this.cssW / this.W, this.cssH / this.H) * 0.97; }

    // [scale, tx, ty] in CSS pixels
    _tf() {
      const s = this._fit() * this.zoom;
      return [s, this.cssW / 2 - this.cx * s, this.cssH / 2 - this.cy * s];
    }

    toMap(px, py) { const [s, tx, ty] = this._tf(); return [(px - tx) / s, (py - ty) / s]; }

    _clampView() {
      this.zoom = Math.min(400, Math.max(1, this.zoom));
      this.cx = Math.min(this.W, Math.max(0, this.cx));
      this.cy = Math.min(this.H, Math.max(0, this.cy));
    }

    zoomAt(px, py, factor) {
      const [mx, my] = this.toMap(px, py);
      this.zoom *= factor;
      this._clampView();
      const s = this._fit() * this.zoom;
      this.cx = mx - (px - this.cssW / 2) / s;
      this.cy = my - (py - this.cssH / 2) / s;
      this._clampView();
      this.requestDraw();
    }

    fitBox(box, margin = 0.08) {
      if (!box) { this.zoom = 1; this.cx = this.W / 2; this.cy = this.H / 2; this.requestDraw(); return; }
      const w = Math.max(box[2] - box[0], 1), h = Math.max(box[3] - box[1], 1);
      const s = Math.min(this.cssW / w, this.cssH / h) * (1 - 2 * margin);
      this.zoom = s / this._fit();
      this.cx = (box[0] + box[2]) / 2; this.cy = (box[1] + box[3]) / 2;
      this._clampView();
      this.requestDraw();
    }

    reset() { this.fitBox(null); }

    requestDraw() {
      if (this.frame) return;
      this.frame = requestAnimationFrame(() => { this.frame = 0; this.render(); });
    }

    _buildGroups() {
      const groups = this.styles.map(() => null);
      const co = this.classOf, paths = this.paths;
      for (let i = 0; i < this.n; i++) {
        const c = co[i];
        if (c < 0 || c >= groups.length) continue;
        (groups[c] || (groups[c] = new Path2D())).addPath(paths[i]);
      }
      this._groups = groups;
    }

    _allPath() {
      if (!this._all) {
        this._all = new Path2D();
        for (const p of this.paths) this._all.addPath(p);
      }
      return this._all;
    }

    _hatch(ctx, faded) {
      const key = (faded ? 'f' : 'n') + this.dpr;
      this._patterns = this._patterns || {};
      if (!this._patterns[key]) {
        const size = Math.round(6 * this.dpr);
        const t = document.createElement('canvas');
        t.width = t.height = size;
        const g = t.getContext('2d');
        g.fillStyle = faded ? '#fafafa' : '#f1f1f1';
        g.fillRect(0, 0, size, size);
        g.strokeStyle = faded ? '#e4e4e4' : '#b9b9b9';
        g.lineWidth = Math.max(1, this.dpr);
        g.beginPath();
        g.moveTo(-1, size + 1); g.lineTo(size + 1, -1);
        g.moveTo(-1, 1); g.lineTo(1, -1);
        g.moveTo(size - 1, size + 1); g.lineTo(size + 1, size - 1);
        g.stroke();
        this._patterns[key] = ctx.createPattern(t, 'repeat');
      }
      return this._patterns[key];
    }

    _strokeOn(s) {
      const mode = this.opts.stroke;
      if (mode === 'always') return true;
      if (mode === 'never') return false;
      const side = Math.sqrt((this.W * this.H) / Math.max(1, this.n)) * s;
      return side >= 9;
    }

    render() {
      if (this.frame) { cancelAnimationFrame(this.frame); this.frame = 0; }
      if (!this.paths) return;
      const t0 = performance.now();
      const ctx = this.ctx, d = this.dpr;
      const [s, tx, ty] = this._tf();
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.fillStyle = '#ffffff';
      ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
      ctx.setTransform(d * s, 0, 0, d * s, d * tx, d * ty);
      if (!this._groups) this._buildGroups();
      const inverse = ctx.getTransform().inverse();
      this._groups.forEach((path, c) => {
        if (!path) return;
        const st = this.styles[c];
        if (st && st.hatch) {
          const p = this._hatch(ctx, st.faded);
          p.setTransform(inverse);
          ctx.fillStyle = p;
        } else {
          ctx.fillStyle = st;
        }
        ctx.fill(path, 'evenodd');
      });
      if (this._strokeOn(s)) {
        ctx.lineWidth = (this.n > 3000 ? 0.5 : 0.8) / s;
        ctx.lineJoin = 'round';
        ctx.strokeStyle = 'rgba(255,255,255,0.95)';
        ctx.stroke(this._allPath());
      }
      // DROM inset frames
      const insets = this.shapes.insets || [];
      if (insets.length) {
        ctx.setTransform(d, 0, 0, d, 0, 0);
        ctx.strokeStyle = '#9a9a9a';
        ctx.lineWidth = 1;
        ctx.fillStyle = '#555';
        ctx.font = '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
        ctx.textBaseline = 'bottom';
        for (const f of insets) {
          const x = tx + f.x * s, y = ty + f.y * s, w = f.w * s, h = f.h * s;
          ctx.strokeRect(Math.round(x) + 0.5, Math.round(y) + 0.5, Math.round(w), Math.round(h));
          if (f.label && w > 40) ctx.fillText(f.label, x + 3, y + h - 2);
        }
      }
      this.lastDrawMs = performance.now() - t0;
      this.pickDirty = true;
      this._drawOverlay();
      if (this.opts.interactive) {
        clearTimeout(this.pickTimer);
        this.pickTimer = setTimeout(() => this._ensurePick(), 250);
      }
    }

    _drawOverlay() {
      const ctx = this.octx, d = this.dpr;
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.clearRect(0, 0, this.overlay.width, this.overlay.height);
      if (!this.paths) return;
      const [s, tx, ty] = this._tf();
      ctx.setTransform(d * s, 0, 0, d * s, d * tx, d * ty);
      ctx.lineJoin = 'round';
      for (const i of this.selected) {
        ctx.strokeStyle = '#ffffff'; ctx.lineWidth = 4.5 / s; ctx.stroke(this.paths[i]);
        ctx.strokeStyle = '#111111'; ctx.lineWidth = 2.2 / s; ctx.stroke(this.paths[i]);
      }
      if (this.hover >= 0) {
        ctx.strokeStyle = '#000000'; ctx.lineWidth = 1.6 / s; ctx.stroke(this.paths[this.hover]);
      }
      if (this.marker != null) {
        const b = this.bbox(this.marker);
        const x = tx + ((b[0] + b[2]) / 2) * s, y = ty + ((b[1] + b[3]) / 2) * s;
        const r = Math.max(9, (Math.max(b[2] - b[0], b[3] - b[1]) * s) / 2 + 5);
        ctx.setTransform(d, 0, 0, d, 0, 0);
        ctx.beginPath(); ctx.arc(x, y, r, 0, 2 * Math.PI);
        ctx.strokeStyle = '#ffffff'; ctx.lineWidth = 4; ctx.stroke();
        ctx.strokeStyle = '#b3261e'; ctx.lineWidth = 2; ctx.stroke();
      }
    }

    setHover(i) { if (i !== this.hover) { this.hover = i; this._drawOverlay(); } }
    setSelected(list) { this.selected = list.filter(i => i >= 0); this._drawOverlay(); }

    // Hidden picking canvas: feature i filled with colour i + 1.
    _ensurePick() {
      if (!this.pickDirty || !this.paths) return;
      if (!this.pickColours) {
        this.pickColours = new Array(this.n);
        for (let i = 0; i < this.n; i++) this.pickColours[i] = '#' + (i + 1).toString(16).padStart(6, '0');
      }
      const ctx = this.pctx;
      const [s, tx, ty] = this._tf();
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.clearRect(0, 0, this.pick.width, this.pick.height);
      ctx.setTransform(s, 0, 0, s, tx, ty);
      // skip features outside the view
      const [vx0, vy0] = this.toMap(0, 0), [vx1, vy1] = this.toMap(this.cssW, this.cssH);
      const cull = this.zoom > 1.5 && this.n > 2000;
      for (let i = 0; i < this.n; i++) {
        if (cull) {
          const b = this.bbox(i);
          if (b[2] < vx0 || b[0] > vx1 || b[3] < vy0 || b[1] > vy1) continue;
        }
        ctx.fillStyle = this.pickColours[i];
        ctx.fill(this.paths[i], 'evenodd');
      }
      this.pickDirty = false;
    }

    // Feature under a CSS-pixel point, or -1. Anti-aliased pixels are checked with isPointInPath.
    pickAt(px, py) {
      if (!this.paths || px < 0 || py < 0 || px >= this.cssW || py >= this.cssH) return -1;
      this._ensurePick();
      const x = Math.floor(px), y = Math.floor(py);
      const x0 = Math.max(0, x - 1), y0 = Math.max(0, y - 1);
      const w = Math.min(this.cssW, x + 2) - x0, h = Math.min(this.cssH, y + 2) - y0;
      const data = this.pctx.getImageData(x0, y0, w, h).data;
      const centre = ((y - y0) * w + (x - x0)) * 4;
      const order = [centre];
      for (let o = 0; o < data.length; o += 4) if (o !== centre) order.push(o);
      const tried = new Set();
      for (const o of order) {
        if (data[o + 3] !== 255) continue;
        const id = ((data[o] << 16) | (data[o + 1] << 8) | data[o + 2]) - 1;
        if (id < 0 || id >= this.n || tried.has(id)) continue;
        tried.add(id);
        if (this.pctx.isPointInPath(this.paths[id], px, py, 'evenodd')) return id;
      }
      return -1;
    }

    _pos(e) {
      const r = this.canvas.getBoundingClientRect();
      return [e.clientX - r.left, e.clientY - r.top];
    }

    _bindEvents() {
      const cv = this.canvas;
      let drag = null;
      cv.addEventListener('pointerdown', e => {
        if (e.button !== 0) return;
        const [x, y] = this._pos(e);
        drag = { x, y, cx: this.cx, cy: this.cy, moved: false, id: e.pointerId };
      });
      cv.addEventListener('pointermove', e => {
        const [x, y] = this._pos(e);
        if (drag) {
          const dx = x - drag.x, dy = y - drag.y;
          if (!drag.moved && Math.hypot(dx, dy) > 4) {
            drag.moved = true;
            try { cv.setPointerCapture(drag.id); } catch (err) { /* pointer gone */ }
            cv.classList.add('dragging');
            this.setHover(-1);
            if (this.opts.onHover) this.opts.onHover(-1, e);
          }
          if (drag.moved) {
            const s = this._fit() * this.zoom;
            this.cx = drag.cx - dx / s; this.cy = drag.cy - dy / s;
            this._clampView();
            this.requestDraw();
          }
          return;
        }
        const i = this.pickAt(x, y);
        this.setHover(i);
        if (this.opts.onHover) this.opts.onHover(i, e);
      });
      const end = e => {
        if (!drag) return;
        const wasDrag = drag.moved;
        drag = null;
        cv.classList.remove('dragging');
        if (!wasDrag && e.type === 'pointerup' && this.opts.onClick) {
          const [x, y] = this._pos(e);
          this.opts.onClick(this.pickAt(x, y), e);
        }
      };
      cv.addEventListener('pointerup', end);
      cv.addEventListener('pointercancel', end);
      cv.addEventListener('pointerleave', e => {
        if (drag && drag.moved) return;
        this.setHover(-1);
        if (this.opts.onHover) this.opts.onHover(-1, e);
      });
      cv.addEventListener('wheel', e => {
        e.preventDefault();
        const [x, y] = this._pos(e);
        const dy = e.deltaMode === 1 ? e.deltaY * 30 : e.deltaY;
        this.zoomAt(x, y, Math.exp(-Math.max(-300, Math.min(300, dy)) * 0.0022));
      }, { passive: false });
    }

    _addButtons() {
      const box = el('div', { class: 'map-buttons' },
        el('button', { type: 'button', title: 'Zoomer', 'aria-label': 'Zoomer', onclick: () => this.zoomAt(this.cssW / 2, this.cssH / 2, 1.6) }, '+'),
        el('button', { type: 'button', title: 'Dézoomer', 'aria-label': 'Dézoomer', onclick: () => this.zoomAt(this.cssW / 2, this.cssH / 2, 1 / 1.6) }, '−'),
        el('button', { type: 'button', title: "Vue d'ensemble", 'aria-label': "Vue d'ensemble", onclick: () => this.reset() }, '⤢'));
      this.wrap.appendChild(box);
    }
  }
  A.MapView = MapView;

  /* ---------------------------------------------------------------- tooltip */

  A.tooltip = {
    node() { return document.getElementById('tooltip'); },
    show(e, children) {
      const t = this.node();
      if (!t) return;
      A.clear(t);
      for (const c of children) t.appendChild(c);
      t.hidden = false;
      const pad = 14, r = t.getBoundingClientRect();
      let x = e.clientX + pad, y = e.clientY + pad;
      if (x + r.width > window.innerWidth - 4) x = e.clientX - pad - r.width;
      if (y + r.height > window.innerHeight - 4) y = e.clientY - pad - r.height;
      t.style.left = Math.max(4, x) + 'px';
      t.style.top = Math.max(4, y) + 'px';
    },
    hide() { const t = this.node(); if (t) t.hidden = true; },
  };

  /* --------------------------------------------------------- page skeleton */

  function banner(meta) {
    if (!meta || !meta.sample_data) return;
    const b = el('div', { class: 'sample-banner', role: 'note' },
      "Données d'exemple : territoire fictif, aucune valeur ne décrit une commune réelle.",
      meta.notice ? el('span', { class: 'notice' }, ' ' + meta.notice) : null);
    document.body.insertBefore(b, document.body.firstChild);
  }

  function footer(meta) {
    const f = document.getElementById('build-footer');
    if (!f || !meta) return;
    f.textContent = 'Atlas territoires · construction ' + (meta.build_id || '?') +
      (meta.built_at ? ' du ' + A.fmtDate(meta.built_at) : '') +
      (meta.geography_vintage ? ' · géographie ' + meta.geography_vintage : '') +
      (meta.package_version ? ' · version ' + meta.package_version : '');
  }

  const pages = {};
  A.pages = pages;

  A.start = function (name) {
    const run = () => {
      banner(A.meta);
      if (!A.meta) {
        A.showError(new Error('Données absentes : data/meta.js'));
        A.setReady();
        return;
      }
      footer(A.meta);
      Promise.resolve().then(() => pages[name](A.meta)).catch(err => {
        A.showError(err);
        A.setReady();
      });
    };
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', run);
    else run();
  };

  /* ================================================================== home */

  pages.index = async function (meta) {
    const info = document.getElementById('build-info');
    info.textContent = 'Construction ' + (meta.build_id || '?') +
      (meta.built_at ? ' · ' + A.fmtDate(meta.built_at) : '') +
      ' · géographie ' + (meta.geography_vintage || '?');

    // indicator links by category
    const indBox = A.clear(document.getElementById('indicator-links'));
    for (const [cat, inds] of A.indicatorsByCategory()) {
      const ul = el('ul', { class: 'links' });
      for (const ind of inds) {
        const lvl = A.defaultMapLevel(ind);
        const label = ind.label + (ind.unit ? ' (' + ind.unit + ')' : '');
        ul.appendChild(el('li', null, lvl
          ? el('a', { href: A.indicatorHref(ind.id, lvl, ind.latest_vintage), title: ind.definition || null }, label)
          : el('span', { class: 'muted', title: ind.definition || null }, label + ' — sans carte')));
      }
      indBox.appendChild(el('section', { class: 'category' }, el('h3', null, cat), ul));
    }
    if (!indBox.firstChild) indBox.appendChild(el('p', { class: 'muted' }, 'Aucun indicateur.'));

    const progBox = A.clear(document.getElementById('programme-links'));
    for (const p of meta.programmes || []) {
      progBox.appendChild(el('li', null,
        el('a', { href: 'programme.html#' + encodeURIComponent(p.id) }, p.title || p.id),
        el('span', { class: 'muted' }, ' — ' + A.fmt(p.eligible) + ' ' + unitLabel(p.unit, p.eligible) + ' éligibles'),
        p.description ? el('div', { class: 'desc' }, p.description) : null));
    }
    if (!progBox.firstChild) progBox.appendChild(el('li', { class: 'muted' }, 'Aucun programme.'));

    const regBox = A.clear(document.getElementById('region-links'));
    const regPortraits = A.hasPortraits('region'), depPortraits = A.hasPortraits('departement');
    for (const r of meta.regions || []) {
      const deps = (meta.departements || []).filter(d => d.region === r.code);
      regBox.appendChild(el('li', null,
        regPortraits ? el('a', { href: A.portraitHref('region', r.code) }, r.name) : r.name,
        deps.length ? el('span', { class: 'deps' }, ' — ', ...deps.map((d, i) => [i ? ', ' : '',
          depPortraits ? el('a', { href: A.portraitHref('departement', d.code) }, d.name + ' (' + d.code + ')') : d.name])) : null));
    }
    if (!regBox.firstChild) regBox.appendChild(el('li', { class: 'muted' }, 'Aucune région.'));

    await setupSearch();
    A.setReady();
  };

  function unitLabel(unit, n) {
    const plural = !(n === 1);
    const known = { commune: ['commune', 'communes'], qpv: ['quartier prioritaire', 'quartiers prioritaires'],
      epci: ['EPCI', 'EPCI'], hospital: ['établissement', 'établissements'] };
    if (known[unit]) return known[unit][plural ? 1 : 0];
    const l = A.level(unit);
    if (l) return plural ? A.lowerFirst(l.label) : l.label_one;
    return plural ? 'unités' : 'unité';
  }
  A.unitLabel = unitLabel;

  async function setupSearch() {
    const input = document.getElementById('search');
    const list = document.getElementById('search-results');
    const status = document.getElementById('search-status');
    const entries = [];
    const loaded = new Set();
    const order = A.levelIds().filter(l => l !== 'france');
    const first = order.filter(l => ['region', 'departement', 'epci'].includes(l));
    const later = order.filter(l => !first.includes(l));
    let laterPromise = null;

    const addLevel = async level => {
      if (loaded.has(level)) return;
      loaded.add(level);
      try {
        const p = await A.load('names/' + level);
        const names = p.names || {}, parents = p.parents || {};
        for (const code of Object.keys(names)) {
          entries.push({ level, code, name: names[code], norm: A.norm(names[code]), parents: parents[code] || [] });
        }
      } catch (err) {
        status.textContent = err.message;
      }
    };
    await Promise.all(first.map(addLevel));

    const rank = (e, q, raw) => {
      if (e.code.toLowerCase() === raw) return 0;
      if (e.norm === q) return 1;
      if (e.norm.startsWith(q)) return 2;
      if (e.norm.includes(' ' + q)) return 3;
      if (e.code.toLowerCase().startsWith(raw)) return 4;
      if (e.norm.includes(q)) return 5;
      return -1;
    };
    const levelRank = l => order.indexOf(l);

    let loadingLater = false;
    const run = () => {
      const raw = input.value.trim().toLowerCase();
      const q = A.norm(input.value);
      A.clear(list);
      if (!q) { status.textContent = ''; return; }
      if (q.length >= 2 && later.length && !laterPromise) {
        loadingLater = true;
        laterPromise = Promise.all(later.map(addLevel)).then(() => { loadingLater = false; run(); });
      }
      const hits = [];
      for (const e of entries) {
        const r = rank(e, q, raw);
        if (r >= 0) hits.push([r, e]);
      }
      hits.sort((a, b) => a[0] - b[0] || levelRank(a[1].level) - levelRank(b[1].level) ||
        a[1].name.length - b[1].name.length || a[1].name.localeCompare(b[1].name, 'fr'));
      for (const [, e] of hits.slice(0, 30)) {
        const dep = e.level !== 'departement' && e.level !== 'region' && e.parents[0] ? A.departementName(e.parents[0]) : null;
        const detail = [A.levelOne(e.level), e.code, dep].filter(Boolean).join(' · ');
        list.appendChild(el('li', null,
          A.hasPortraits(e.level) ? el('a', { href: A.portraitHref(e.level, e.code) }, e.name) : el('span', null, e.name),
          el('span', { class: 'muted' }, ' ' + detail)));
      }
      status.textContent = loadingLater ? 'Chargement des noms de communes…'
        : !hits.length ? 'Aucun territoire trouvé.'
          : hits.length > 30 ? A.fmt(hits.length) + ' résultats, les 30 premiers sont affichés.' : '';
    };
    input.addEventListener('input', run);
    input.addEventListener('keydown', e => {
      if (e.key === 'Enter') {
        const a = list.querySelector('a');
        if (a) location.href = a.getAttribute('href');
      }
    });
    if (input.value) run();
  }

  /* ========================================================= indicator map */

  pages.indicator = async function (meta) {
    const $ = id => document.getElementById(id);
    const sel = { ind: $('ctl-indicator'), level: $('ctl-level'), vintage: $('ctl-vintage'),
      method: $('ctl-method'), k: $('ctl-classes'), palette: $('ctl-palette') };
    const title = $('map-title'), legend = $('legend'), info = $('indicator-info');
    const wrap = $('map-wrap');

    // indicator select, grouped by category
    for (const [cat, inds] of A.indicatorsByCategory()) {
      const g = el('optgroup', { label: cat });
      for (const ind of inds) g.appendChild(el('option', { value: ind.id, disabled: !A.mapLevels(ind).length }, ind.label));
      sel.ind.appendChild(g);
    }
    for (let k = 3; k <= 7; k++) sel.k.appendChild(el('option', { value: String(k), selected: k === 5 }, String(k)));

    let map = null, mapLevel = null, token = 0, first = true;
    let cur = null; // {ind, level, vintage, rows: Map, names}

    const readHash = () => {
      const [id, level, vintage] = hashParts();
      let ind = A.indicator(id);
      if (!ind || !A.mapLevels(ind).length) ind = (meta.indicators || []).find(i => A.mapLevels(i).length) || null;
      return { ind, level, vintage };
    };

    const update = async (want) => {
      const my = ++token;
      const ind = want.ind;
      if (!ind) {
        A.showError(new Error("Aucun indicateur n'a de niveau cartographié."));
        A.setReady();
        return;
      }
      const levels = A.mapLevels(ind);
      const level = levels.includes(want.level) ? want.level : A.defaultMapLevel(ind);
      sel.ind.value = ind.id;
      A.clear(sel.level);
      for (const l of levels) sel.level.appendChild(el('option', { value: l }, A.levelLabel(l)));
      sel.level.value = level;
      wrap.classList.add('loading');

      const [shapes, values, names] = await Promise.all([
        A.load('shapes/' + level),
        A.load('values/' + ind.id),
        A.load('names/' + level).catch(() => ({ names: {} })),
      ]);
      if (my !== token) return;
      const byVintage = (values.levels && values.levels[level]) || {};
      const vintages = Object.keys(byVintage).sort().reverse();
      const vintage = vintages.includes(want.vintage) ? want.vintage
        : vintages.includes(ind.latest_vintage) ? ind.latest_vintage : vintages[0] || null;
      A.clear(sel.vintage);
      for (const v of vintages) sel.vintage.appendChild(el('option', { value: v }, v));
      if (!vintages.length) sel.vintage.appendChild(el('option', { value: '' }, 'aucun'));
      sel.vintage.value = vintage || '';

      const rows = new Map();
      for (const r of (vintage ? byVintage[vintage] : null) || []) rows.set(String(r[0]), r);
      cur = { ind, level, vintage, rows, names: names.names || {} };

      if (!map) {
        map = new A.MapView(wrap, { onHover, onClick });
        A.currentMap = map;
      }
      if (mapLevel !== level) { map.setShapes(shapes); mapLevel = level; }
      paint();
      wrap.classList.remove('loading');
      const h = '#' + [ind.id, level, vintage].filter(Boolean).map(encodeURIComponent).join('/');
      if (location.hash !== h) history.replaceState(null, '', h);
      document.title = ind.label + ' — Atlas territoires';
      if (first) { first = false; A.timing.mapDraw = map.lastDrawMs; A.setReady(); }
    };

    const franceValue = () => {
      const f = cur.ind.france || {};
      return cur.vintage && isNum(f[cur.vintage]) ? f[cur.vintage] : null;
    };

    const paint = () => {
      const { ind, level, vintage, rows } = cur;
      const fv = franceValue();
      // palette options depend on the France value
      const divOpt = sel.palette.querySelector('option[value="diverging"]');
      divOpt.disabled = fv === null;
      divOpt.textContent = fv === null ? 'Divergente (valeur France absente)'
        : 'Divergente autour de la France (' + A.fmtUnit(fv, ind.unit) + ')';
      if (fv === null && sel.palette.value === 'diverging') sel.palette.value = 'sequential';

      const n = map.n;
      const vals = new Float64Array(n);
      const present = new Uint8Array(n);
      const list = [];
      for (let i = 0; i < n; i++) {
        const r = rows.get(map.codes[i]);
        if (r && isNum(r[1])) { vals[i] = r[1]; present[i] = 1; list.push(r[1]); }
      }
      const k = Number(sel.k.value) || 5;
      const cats = ind.categories && ind.categories.length ? ind.categories : null;
      for (const s of [sel.method, sel.k, sel.palette]) s.disabled = !!cats;
      const classes = cats ? A.categoryClasses(cats)
        : A.makeClasses(list, { k, method: sel.method.value, diverging: sel.palette.value === 'diverging', centre: fv });
      const nc = classes.colours.length;
      const classOf = new Int32Array(n);
      const counts = new Array(nc).fill(0);
      let missing = 0;
      for (let i = 0; i < n; i++) {
        if (present[i]) { const c = A.classOf(vals[i], classes.breaks); classOf[i] = c; counts[c]++; }
        else { classOf[i] = nc; missing++; }
      }
      map.setFills(classOf, classes.colours.concat([A.HATCH]));
      map.render();
      drawLegend(classes, counts, missing, fv);
      drawInfo(list.length, n, fv);
      title.textContent = ind.label + ' — ' + A.levelLabel(level) + (vintage ? ' — ' + vintage : '');
    };

    const drawLegend = (classes, counts, missing, fv) => {
      const { ind } = cur;
      A.clear(legend);
      legend.appendChild(el('div', { class: 'legend-title' }, ind.label));
      legend.appendChild(el('div', { class: 'legend-sub' },
        (ind.unit ? 'En ' + ind.unit : 'Sans unité') + (cur.vintage ? ' · millésime ' + cur.vintage : '')));
      const ul = el('ul', { class: 'legend-items' });
      const b = classes.breaks;
      if (b.length >= 2) {
        const d = A.legendDigits(b);
        const centre = classes.centre;
        const fb = v => (centre != null && v === centre ? A.fmt(v) : A.fmtDigits(v, d));
        classes.colours.forEach((col, c) => {
          const lo = fb(b[c]), hi = fb(b[c + 1]);
          if (centre != null && c > 0 && b[c] === centre) {
            ul.appendChild(el('li', { class: 'legend-centre' }, 'France : ' + A.fmtUnit(centre, ind.unit)));
          }
          const txt = classes.labels ? classes.labels[c] : lo === hi ? lo : (c === 0 ? 'de ' : 'plus de ') + lo + ' à ' + hi;
          ul.appendChild(el('li', { dataset: { class: String(c) } },
            el('span', { class: 'swatch', style: 'background:' + col }),
            el('span', { class: 'range' }, txt),
            el('span', { class: 'count' }, A.fmt(counts[c]))));
        });
      }
      ul.appendChild(el('li', { class: 'nodata-item', dataset: { class: 'nodata' } },
        el('span', { class: 'swatch hatch' }),
        el('span', { class: 'range' }, A.NODATA),
        el('span', { class: 'count' }, A.fmt(missing))));
      legend.appendChild(ul);
      legend.appendChild(el('div', { class: 'legend-note' },
        (classes.labels ? 'Catégories' : sel.method.value === 'jenks' ? 'Seuils naturels (Jenks)' : 'Quantiles') + ' · ' + (b.length - 1 > 0 ? b.length - 1 : 0) +
        ' classes' + (classes.centre != null ? ' · centrée sur la France' : '') +
        (b.length >= 2 && b.length - 1 < Number(sel.k.value) ? ' (moins de valeurs distinctes que de classes demandées)' : '')));
      if (fv !== null && classes.centre == null) legend.appendChild(el('div', { class: 'legend-france' }, 'France : ' + A.fmtUnit(fv, ind.unit)));
    };

    const drawInfo = (withData, total, fv) => {
      const { ind } = cur;
      A.clear(info);
      info.appendChild(el('h2', null, ind.label));
      if (ind.definition) info.appendChild(el('p', null, ind.definition));
      info.appendChild(el('p', { class: 'muted' },
        A.fmt(withData) + ' ' + A.lowerFirst(A.levelLabel(cur.level)) + ' sur ' + A.fmt(total) + ' avec une valeur' +
        (cur.vintage ? ' en ' + cur.vintage : '') + '.'));
      const srcs = (ind.sources || []).map(id => (meta.sources && meta.sources[id] && meta.sources[id].title) || id);
      if (srcs.length) info.appendChild(el('p', { class: 'muted' }, 'Sources : ' + srcs.join(' ; ')));
      if (A.hasPortraits(cur.level)) info.appendChild(el('p', { class: 'muted' }, 'Cliquer sur un territoire ouvre son portrait.'));
    };

    function onHover(i, e) {
      if (i < 0 || !cur) { A.tooltip.hide(); map.canvas.style.cursor = ''; return; }
      const code = map.code(i);
      const r = cur.rows.get(code);
      const v = r ? r[1] : null, cov = r ? r[2] : null;
      map.canvas.style.cursor = A.hasPortraits(cur.level) ? 'pointer' : '';
      A.tooltip.show(e, [
        el('div', { class: 'tt-name' }, cur.names[code] || code),
        el('div', { class: 'tt-code' }, A.levelOne(cur.level) + ' · ' + code),
        el('div', { class: 'tt-value' + (isNum(v) ? '' : ' nodata') },
          A.categoryLabel(cur.ind, v) ? A.categoryLabel(cur.ind, v) + ' (' + A.fmt(v) + ')' : A.fmtUnit(v, cur.ind.unit)),
        el('div', null, 'Millésime : ' + (cur.vintage || '—')),
        el('div', null, 'Couverture : ' + A.fmtPct(cov)),
      ]);
    }

    function onClick(i) {
      if (i < 0 || !cur || !A.hasPortraits(cur.level)) return;
      location.href = A.portraitHref(cur.level, map.code(i));
    }

    const fromControls = () => ({ ind: A.indicator(sel.ind.value), level: sel.level.value, vintage: sel.vintage.value });
    sel.ind.addEventListener('change', () => {
      const ind = A.indicator(sel.ind.value);
      update({ ind, level: sel.level.value, vintage: ind && ind.latest_vintage }).catch(fail);
    });
    sel.level.addEventListener('change', () => update(fromControls()).catch(fail));
    sel.vintage.addEventListener('change', () => update(fromControls()).catch(fail));
    for (const s of [sel.method, sel.k, sel.palette]) s.addEventListener('change', () => { if (cur && map) paint(); });
    window.addEventListener('hashchange', () => update(readHash()).catch(fail));

    function fail(err) { A.showError(err); A.setReady(); }
    await update(readHash());
  };

  /* ========================================================== programme map */

  pages.programme = async function (meta) {
    const $ = id => document.getElementById(id);
    const progSel = $('ctl-programme'), regSel = $('ctl-region'), depSel = $('ctl-departement');
    const listBody = $('programme-list').querySelector('tbody');
    const details = $('unit-details'), legend = $('legend'), title = $('map-title'), desc = $('programme-desc');
    const countBox = $('list-count'), wrap = $('map-wrap');
    const progs = meta.programmes || [];
    for (const p of progs) progSel.appendChild(el('option', { value: p.id }, p.title || p.id));
    if (!progs.length) { A.showError(new Error('Aucun programme dans cet atlas.')); A.setReady(); return; }

    let map = null, token = 0, readyDone = false;
    let cur = null; // {prog, rows, byCommune, names, parents, tierIndex}
    let shown = 200;

    const communeDep = code => {
      const p = cur.parents[code];
      return (p && p[0]) || A.depOfCommune(code);
    };
    const communeReg = code => {
      const p = cur.parents[code];
      if (p && p[1]) return p[1];
      const d = A.departement(communeDep(code));
      return d ? d.region : null;
    };
    const inArea = (dep, reg) => (!depSel.value || dep === depSel.value) && (!regSel.value || reg === regSel.value);
    const rowVisible = r => inArea(r.departement, r.region);

    const load = async () => {
      const my = ++token;
      const id = hashParts()[0];
      const prog = A.programme(id) || progs[0];
      progSel.value = prog.id;
      if (location.hash !== '#' + prog.id) history.replaceState(null, '', '#' + encodeURIComponent(prog.id));
      const withMap = A.hasShapes('commune');
      const [data, shapes, names] = await Promise.all([
        A.load('programmes/' + prog.id),
        withMap ? A.load('shapes/commune') : Promise.resolve(null),
        A.load('names/commune').catch(() => ({ names: {}, parents: {} })),
      ]);
      if (my !== token) return;
      const rows = (data.rows || []).slice().sort((a, b) => (a.rank_france ?? 1e12) - (b.rank_france ?? 1e12));
      const byCommune = new Map();
      for (const r of rows) {
        if (r.commune_code == null) continue;
        const c = String(r.commune_code);
        if (!byCommune.has(c)) byCommune.set(c, []);
        byCommune.get(c).push(r);
      }
      const tiers = (prog.tiers && prog.tiers.length ? prog.tiers.slice() : [...new Set(rows.map(r => r.tier))])
        .filter(t => t != null).sort((a, b) => a - b);
      cur = { prog, rows, byCommune, names: names.names || {}, parents: names.parents || {}, tiers,
        colours: A.tierColours(tiers.length), unit: data.unit || prog.unit };
      title.textContent = prog.title || prog.id;
      document.title = (prog.title || prog.id) + ' — Atlas territoires';
      A.clear(desc);
      if (prog.description) desc.appendChild(el('p', null, prog.description));
      desc.appendChild(el('p', { class: 'muted' }, A.fmt(rows.length) + ' ' + unitLabel(cur.unit, rows.length) + ' éligibles.'));
      fillFilters();
      if (shapes) {
        if (!map) {
          map = new A.MapView(wrap, { onHover, onClick });
          A.currentMap = map;
        }
        if (map.shapes !== shapes) map.setShapes(shapes);
      } else {
        wrap.hidden = true;
      }
      showDetails(null);
      applyFilter(true);
      if (!readyDone) { readyDone = true; A.setReady(); }
    };

    const fillFilters = () => {
      const regCount = new Map(), depCount = new Map();
      for (const r of cur.rows) {
        regCount.set(r.region, (regCount.get(r.region) || 0) + 1);
        depCount.set(r.departement, (depCount.get(r.departement) || 0) + 1);
      }
      const keepReg = regSel.value;
      A.clear(regSel).appendChild(el('option', { value: '' }, 'Toutes les régions'));
      for (const r of meta.regions || []) {
        regSel.appendChild(el('option', { value: r.code }, r.name + ' (' + (regCount.get(r.code) || 0) + ')'));
      }
      regSel.value = (meta.regions || []).some(r => r.code === keepReg) ? keepReg : '';
      fillDeps(depCount);
    };

    const fillDeps = depCount => {
      if (!depCount) {
        depCount = new Map();
        for (const r of cur.rows) depCount.set(r.departement, (depCount.get(r.departement) || 0) + 1);
      }
      const keep = depSel.value;
      A.clear(depSel).appendChild(el('option', { value: '' }, 'Tous les départements'));
      for (const d of meta.departements || []) {
        if (regSel.value && d.region !== regSel.value) continue;
        depSel.appendChild(el('option', { value: d.code }, d.code + ' — ' + d.name + ' (' + (depCount.get(d.code) || 0) + ')'));
      }
      depSel.value = [...depSel.options].some(o => o.value === keep) ? keep : '';
    };

    const applyFilter = refit => {
      shown = 200;
      renderList();
      if (!map) return;
      const T = cur.tiers.length;
      const filtered = !!(regSel.value || depSel.value);
      const styles = cur.colours.concat([A.NO_ELIGIBLE]);
      const fadedStyles = styles.map(c => A.fade(c));
      const classOf = new Int32Array(map.n);
      const area = [];
      const counts = new Array(T + 1).fill(0);
      for (let i = 0; i < map.n; i++) {
        const code = map.codes[i];
        const units = cur.byCommune.get(code);
        let c = T;
        if (units) {
          let best = Infinity;
          for (const u of units) if (u.tier != null && u.tier < best) best = u.tier;
          const ti = cur.tiers.indexOf(best);
          c = ti >= 0 ? ti : T;
        }
        const inside = !filtered || inArea(communeDep(code), communeReg(code));
        if (inside) { area.push(i); counts[c]++; }
        classOf[i] = inside ? c : c + T + 1;
      }
      map.setFills(classOf, styles.concat(fadedStyles));
      if (refit) map.fitBox(filtered ? map.unionBBox(area) : null);
      map.render();
      drawLegend(counts);
    };

    const drawLegend = counts => {
      A.clear(legend);
      legend.appendChild(el('div', { class: 'legend-title' }, 'Meilleur niveau des unités éligibles de la commune'));
      const ul = el('ul', { class: 'legend-items' });
      cur.tiers.forEach((t, i) => ul.appendChild(el('li', { dataset: { tier: String(t) } },
        el('span', { class: 'swatch', style: 'background:' + cur.colours[i] }),
        el('span', { class: 'range' }, 'Niveau ' + t + (i === 0 ? ' (priorité la plus haute)' : '')),
        el('span', { class: 'count' }, A.fmt(counts[i])))));
      ul.appendChild(el('li', { dataset: { tier: 'none' } },
        el('span', { class: 'swatch', style: 'background:' + A.NO_ELIGIBLE }),
        el('span', { class: 'range' }, 'Aucune unité éligible'),
        el('span', { class: 'count' }, A.fmt(counts[cur.tiers.length]))));
      legend.appendChild(ul);
      legend.appendChild(el('div', { class: 'legend-note' }, 'Nombre de communes par classe' +
        (regSel.value || depSel.value ? ' dans la zone choisie' : '') + '.'));
    };

    const renderList = () => {
      A.clear(listBody);
      const rows = cur.rows.filter(rowVisible);
      countBox.textContent = A.fmt(rows.length) + ' ' + unitLabel(cur.unit, rows.length) + ' éligibles' +
        (regSel.value || depSel.value ? ' dans la zone choisie' : '');
      for (const r of rows.slice(0, shown)) {
        const tr = el('tr', { tabindex: '0', dataset: { code: String(r.code), commune: String(r.commune_code ?? '') } },
          el('td', { class: 'num' }, r.rank_france != null ? String(r.rank_france) : '—'),
          el('td', null, r.name || r.code,
            cur.unit !== 'commune' && r.commune_code ? el('span', { class: 'muted' }, ' · ' + (cur.names[r.commune_code] || r.commune_code)) : null),
          el('td', { class: 'num' }, r.tier != null ? String(r.tier) : '—'),
          el('td', { class: 'num' }, A.fmt(r.score)));
        tr.addEventListener('click', () => selectUnits([r], true));
        tr.addEventListener('keydown', e => { if (e.key === 'Enter') selectUnits([r], true); });
        listBody.appendChild(tr);
      }
      if (rows.length > shown) {
        listBody.appendChild(el('tr', { class: 'more' }, el('td', { colspan: '4' },
          el('button', { type: 'button', onclick: () => { shown += 500; renderList(); } },
            'Afficher les suivants (' + A.fmt(rows.length - shown) + ' restants)'))));
      }
      if (!rows.length) listBody.appendChild(el('tr', null, el('td', { colspan: '4', class: 'muted' }, 'Aucune unité éligible dans cette zone.')));
    };

    const selectUnits = (units, fromList) => {
      for (const tr of listBody.querySelectorAll('tr.selected')) tr.classList.remove('selected');
      for (const u of units) {
        const tr = [...listBody.querySelectorAll('tr[data-code]')].find(t => t.dataset.code === String(u.code));
        if (tr) { tr.classList.add('selected'); if (!fromList) tr.scrollIntoView({ block: 'nearest' }); }
      }
      if (map) map.setSelected(units.map(u => map.index.get(String(u.commune_code)) ?? -1));
      showDetails(units);
    };

    const showDetails = (units, communeCode) => {
      A.clear(details);
      if (!units) {
        details.appendChild(el('p', { class: 'muted' }, 'Cliquer sur une unité (liste ou carte) pour voir les motifs de son éligibilité.'));
        return;
      }
      if (!units.length) {
        details.appendChild(el('h3', null, cur.names[communeCode] || communeCode));
        details.appendChild(el('p', null, 'Aucune unité éligible dans cette commune.'));
        if (A.hasPortraits('commune')) details.appendChild(el('p', null, el('a', { href: A.portraitHref('commune', communeCode) }, 'Portrait de la commune')));
        return;
      }
      for (const u of units) details.appendChild(unitCard(u));
    };

    const unitCard = u => {
      const card = el('article', { class: 'unit-card', dataset: { code: String(u.code) } });
      card.appendChild(el('h3', null, u.name || u.code));
      const communeName = cur.names[u.commune_code] || u.commune_code;
      card.appendChild(el('p', { class: 'muted' },
        [unitLabel(cur.unit, 1), String(u.code), cur.unit !== 'commune' && communeName ? 'commune : ' + communeName : null,
          A.departementName(u.departement)].filter(Boolean).join(' · ')));
      card.appendChild(el('dl', { class: 'facts' },
        el('dt', null, 'Niveau'), el('dd', null, u.tier != null ? String(u.tier) : '—'),
        el('dt', null, 'Rang France'), el('dd', null, u.rank_france != null ? A.ordinal(u.rank_france, true) : '—'),
        el('dt', null, 'Rang département'), el('dd', null, u.rank_departement != null ? A.ordinal(u.rank_departement, true) : '—'),
        el('dt', null, 'Score'), el('dd', null, A.fmt(u.score))));
      const lines = String(u.reason_summary || '').split('; ').filter(Boolean);
      if (lines.length) card.appendChild(el('ul', { class: 'reasons' }, lines.map(l => el('li', null, l))));
      if ((u.reasons || []).length) {
        const tb = el('tbody');
        for (const r of u.reasons) {
          const ind = A.indicator(r.indicator_id);
          tb.appendChild(el('tr', { class: r.passed ? 'passed' : 'failed' },
            el('td', null, ind ? ind.label : r.indicator_id),
            el('td', { class: 'num' }, r.tier != null ? String(r.tier) : '—'),
            el('td', { class: 'num' }, (isNum(r.value) ? A.fmt(r.value) : A.NODATA) + (r.vintage ? ' [' + r.vintage + ']' : '')),
            el('td', { class: 'num' }, r.operator || ''),
            el('td', { class: 'num' }, A.fmtThreshold(r.threshold)),
            el('td', null, r.passed === true ? 'oui' : r.passed === false ? 'non' : '—')));
        }
        card.appendChild(el('table', { class: 'reasons-table' },
          el('thead', null, el('tr', null, ['Indicateur', 'Niveau', 'Valeur', 'Opérateur', 'Seuil', 'Satisfait'].map(h => el('th', null, h)))), tb));
      }
      if (u.commune_code && A.hasPortraits('commune')) {
        card.appendChild(el('p', null, el('a', { href: A.portraitHref('commune', String(u.commune_code)) },
          'Portrait de la commune ' + (communeName || ''))));
      }
      return card;
    };

    function onHover(i, e) {
      if (i < 0 || !cur) { A.tooltip.hide(); map.canvas.style.cursor = ''; return; }
      const code = map.code(i);
      const units = cur.byCommune.get(code) || [];
      const best = units.reduce((m, u) => (u.tier != null && u.tier < m ? u.tier : m), Infinity);
      map.canvas.style.cursor = 'pointer';
      A.tooltip.show(e, [
        el('div', { class: 'tt-name' }, cur.names[code] || code),
        el('div', { class: 'tt-code' }, 'commune · ' + code),
        el('div', { class: 'tt-value' }, units.length
          ? units.length + ' ' + unitLabel(cur.unit, units.length) + ' éligible' + (units.length > 1 ? 's' : '') + ' · niveau ' + best
          : 'Aucune unité éligible'),
      ]);
    }

    function onClick(i) {
      if (i < 0 || !cur) return;
      const code = map.code(i);
      const units = cur.byCommune.get(code) || [];
      if (units.length) selectUnits(units, false);
      else { for (const tr of listBody.querySelectorAll('tr.selected')) tr.classList.remove('selected'); map.setSelected([i]); showDetails([], code); }
    }

    progSel.addEventListener('change', () => { location.hash = '#' + encodeURIComponent(progSel.value); });
    regSel.addEventListener('change', () => { fillDeps(); applyFilter(true); });
    depSel.addEventListener('change', () => applyFilter(true));
    window.addEventListener('hashchange', () => load().catch(fail));
    function fail(err) { A.showError(err); A.setReady(); }
    await load();
  };

  /* ============================================================== portrait */

  pages.portrait = async function (meta) {
    const $ = id => document.getElementById(id);
    const head = $('portrait-head'), tableBox = $('portrait-table-box'), progBox = $('portrait-programmes');
    const srcBox = $('portrait-sources'), wrap = $('map-wrap');
    let map = null, token = 0, readyDone = false;

    const render = async () => {
      const my = ++token;
      const [level, code] = hashParts();
      for (const b of [head, tableBox, progBox, srcBox]) A.clear(b);
      const err = $('error'); if (err) err.hidden = true;
      if (!level || !code) {
        head.appendChild(el('h1', null, 'Portrait de territoire'));
        head.appendChild(el('p', null, 'Choisissez un territoire depuis ', el('a', { href: 'index.html' }, "l'accueil"), '.'));
        wrap.hidden = true;
        return done();
      }
      if (!A.hasPortraits(level) || !/^[A-Za-z0-9_\-]+$/.test(code)) {
        head.appendChild(el('h1', null, 'Portrait indisponible'));
        head.appendChild(el('p', null, "Pas de portrait pour « " + level + '/' + code + ' ».'));
        wrap.hidden = true;
        return done();
      }
      let data;
      try {
        data = await A.load('portraits/' + level + '/' + A.portraitBucket(level, code));
      } catch (e) {
        if (my !== token) return;
        head.appendChild(el('h1', null, 'Portrait indisponible'));
        wrap.hidden = true;
        throw e;
      }
      if (my !== token) return;
      const unit = data.units && data.units[code];
      if (!unit) {
        head.appendChild(el('h1', null, 'Territoire introuvable'));
        head.appendChild(el('p', null, 'Aucun portrait pour ' + A.levelOne(level) + ' ' + code + '.'));
        wrap.hidden = true;
        return done();
      }
      document.title = unit.name + ' — Atlas territoires';
      renderHead(level, code, unit);
      renderTable(level, unit);
      renderProgrammes(unit);
      renderSources(unit);
      if (A.hasShapes(level)) {
        wrap.hidden = false;
        try {
          const shapes = await A.load('shapes/' + level);
          if (my !== token) return;
          drawLocator(shapes, code);
        } catch (e) {
          wrap.hidden = true;
          const note = el('p', { class: 'muted' }, e.message);
          head.appendChild(note);
        }
      } else {
        wrap.hidden = true;
      }
      done();
    };

    const done = () => { if (!readyDone) { readyDone = true; A.setReady(); } };

    const renderHead = (level, code, unit) => {
      head.appendChild(el('p', { class: 'kicker' }, A.levelOne(level) + ' · ' + code));
      head.appendChild(el('h1', null, unit.name || code));
      const parents = [];
      if (unit.departement && level !== 'departement') {
        const name = A.departementName(unit.departement) || unit.departement;
        parents.push(A.hasPortraits('departement')
          ? el('a', { href: A.portraitHref('departement', unit.departement) }, name + ' (' + unit.departement + ')')
          : name);
      }
      if (unit.region && level !== 'region') {
        const name = A.regionName(unit.region) || unit.region;
        parents.push(A.hasPortraits('region') ? el('a', { href: A.portraitHref('region', unit.region) }, name) : name);
      }
      if (parents.length) {
        head.appendChild(el('p', { class: 'parents' }, 'Dans : ', ...parents.map((p, i) => [i ? ' › ' : '', p])));
      }
      if (unit.density_class != null) {
        head.appendChild(el('p', { class: 'muted' }, 'Classe de densité : ' + unit.density_class +
          (A.DENSITY[unit.density_class] ? ' — ' + A.DENSITY[unit.density_class] : '')));
      }
    };

    const renderTable = (level, unit) => {
      const values = unit.values || [];
      const fem = A.levelFeminine(level);
      const plural = A.lowerFirst(A.levelLabel(level));
      const scope = { departement: 'du département', region: 'de la région', france: 'de France' }[unit.rank_scope] || '';
      // comparison columns: hide those that are empty for every row
      const cols = [
        { i: 6, label: 'Département', sub: A.departementName(unit.departement) },
        { i: 7, label: 'Région', sub: A.regionName(unit.region) },
        { i: 8, label: 'France' },
        { i: 9, label: 'Médiane même densité', sub: 'communes' + (A.DENSITY[unit.density_class] ? ' « ' + A.DENSITY[unit.density_class] + ' »' : '') },
      ].filter(c => (c.i === 9 ? level === 'commune' : true) && values.some(r => isNum(r[c.i])));

      // rows grouped: category -> indicator -> vintages (latest first)
      const byInd = new Map();
      for (const r of values) {
        if (!byInd.has(r[0])) byInd.set(r[0], []);
        byInd.get(r[0]).push(r);
      }
      const known = (meta.indicators || []).map(i => i.id);
      const extra = [...byInd.keys()].filter(id => !known.includes(id));
      const table = el('table', { id: 'portrait-values', class: 'portrait-values' });
      table.appendChild(el('thead', null, el('tr', null,
        el('th', { class: 'col-ind' }, 'Indicateur'), el('th', { class: 'num col-value' }, 'Valeur'),
        el('th', { class: 'col-vintage' }, 'Millésime'), el('th', { class: 'col-rank' }, 'Rang'),
        cols.map(c => el('th', { class: 'num col-cmp' }, c.label, c.sub ? el('span', { class: 'th-sub' }, c.sub) : null)))));
      const ncol = 4 + cols.length;
      const cats = new Map();
      for (const id of known.concat(extra)) {
        if (!byInd.has(id)) continue;
        const ind = A.indicator(id) || { id, label: id, unit: '', category: 'Autres' };
        const cat = ind.category || 'Autres';
        if (!cats.has(cat)) cats.set(cat, []);
        cats.get(cat).push(ind);
      }
      for (const [cat, inds] of cats) {
        const tb = el('tbody');
        tb.appendChild(el('tr', { class: 'cat' }, el('th', { colspan: String(ncol), scope: 'rowgroup' }, cat)));
        for (const ind of inds) {
          const rows = byInd.get(ind.id).slice().sort((a, b) => String(b[1]).localeCompare(String(a[1])));
          const spark = sparkline(rows, ind);
          rows.forEach((r, k) => {
            const [, vintage, value, cov, rank, count] = r;
            const tr = el('tr', { dataset: { indicator: ind.id, vintage: String(vintage) }, class: k ? 'older' : 'latest' });
            if (k === 0) {
              tr.appendChild(el('th', { scope: 'row', rowspan: String(rows.length), class: 'ind-label', title: ind.definition || null },
                el('span', null, ind.label), spark));
            }
            const category = A.categoryLabel(ind, value);
            tr.appendChild(el('td', { class: 'num value' + (isNum(value) ? '' : ' nodata') },
              A.fmtUnit(value, ind.unit) + (category ? ' (' + category + ')' : '')));
            tr.appendChild(el('td', { class: 'vintage' }, String(vintage),
              isNum(cov) && cov < 1 ? el('span', { class: 'cov' }, 'couverture ' + A.fmtPct(cov)) : null));
            tr.appendChild(el('td', { class: 'rank' }, isNum(rank)
              ? A.ordinal(rank, fem) + (isNum(count) ? ' / ' + A.fmt(count) + ' ' + plural + (scope ? ' ' + scope : '') : '')
              : '—'));
            for (const c of cols) {
              const v = r[c.i];
              tr.appendChild(el('td', { class: 'num cmp' + (isNum(v) ? '' : ' nodata') }, A.fmt(v)));
            }
            tb.appendChild(tr);
          });
        }
        table.appendChild(tb);
      }
      tableBox.appendChild(el('h2', null, 'Indicateurs'));
      if (!byInd.size) tableBox.appendChild(el('p', { class: 'muted' }, 'Aucun indicateur pour ce territoire.'));
      else tableBox.appendChild(el('div', { class: 'table-scroll' }, table));
    };

    const sparkline = (rows, ind) => {
      const pts = rows.filter(r => isNum(r[2])).map(r => [String(r[1]), r[2]]).sort((a, b) => a[0].localeCompare(b[0]));
      if (pts.length < 2) return null;
      const w = 84, h = 22, pad = 3;
      const ys = pts.map(p => p[1]);
      const lo = Math.min(...ys), hi = Math.max(...ys);
      const x = i => pad + (i * (w - 2 * pad)) / (pts.length - 1);
      const y = v => (hi === lo ? h / 2 : h - pad - ((v - lo) * (h - 2 * pad)) / (hi - lo));
      const NS = 'http://www.w3.org/2000/svg';
      const svg = document.createElementNS(NS, 'svg');
      svg.setAttribute('class', 'sparkline');
      svg.setAttribute('width', w); svg.setAttribute('height', h);
      svg.setAttribute('viewBox', '0 0 ' + w + ' ' + h);
      svg.setAttribute('role', 'img');
      const label = 'Évolution : ' + pts.map(p => p[0] + ' ' + A.fmtUnit(p[1], ind.unit)).join(', ');
      svg.setAttribute('aria-label', label);
      const t = document.createElementNS(NS, 'title'); t.textContent = label; svg.appendChild(t);
      const line = document.createElementNS(NS, 'polyline');
      line.setAttribute('points', pts.map((p, i) => x(i).toFixed(1) + ',' + y(p[1]).toFixed(1)).join(' '));
      line.setAttribute('fill', 'none'); line.setAttribute('stroke', '#2f6c8e'); line.setAttribute('stroke-width', '1.5');
      svg.appendChild(line);
      const dot = document.createElementNS(NS, 'circle');
      dot.setAttribute('cx', x(pts.length - 1).toFixed(1)); dot.setAttribute('cy', y(pts[pts.length - 1][1]).toFixed(1));
      dot.setAttribute('r', '2.2'); dot.setAttribute('fill', '#2f6c8e');
      svg.appendChild(dot);
      return svg;
    };

    const renderProgrammes = unit => {
      progBox.appendChild(el('h2', null, 'Programmes'));
      const list = unit.programmes || [];
      if (!list.length) { progBox.appendChild(el('p', { class: 'muted' }, 'Éligible à aucun programme.')); return; }
      const tb = el('tbody');
      for (const [pid, tier, rank, score, summary] of list) {
        const p = A.programme(pid);
        tb.appendChild(el('tr', { dataset: { programme: pid } },
          el('td', null, p ? el('a', { href: 'programme.html#' + encodeURIComponent(pid) }, p.title || pid) : pid),
          el('td', { class: 'num' }, tier != null ? String(tier) : '—'),
          el('td', { class: 'num' }, isNum(rank) ? A.ordinal(rank, true) : '—'),
          el('td', { class: 'num' }, A.fmt(score)),
          el('td', null, el('ul', { class: 'reasons' }, String(summary || '').split('; ').filter(Boolean).map(l => el('li', null, l))))));
      }
      progBox.appendChild(el('div', { class: 'table-scroll' }, el('table', { id: 'portrait-programmes-table' },
        el('thead', null, el('tr', null, el('th', null, 'Programme'), el('th', { class: 'num' }, 'Niveau'),
          el('th', { class: 'num' }, 'Rang France'), el('th', { class: 'num' }, 'Score'), el('th', null, 'Motifs'))), tb)));
    };

    const renderSources = unit => {
      srcBox.appendChild(el('h2', null, 'Sources'));
      const ids = [];
      const shown = new Set((unit.values || []).map(r => r[0]));
      for (const ind of meta.indicators || []) {
        if (!shown.has(ind.id)) continue;
        for (const s of ind.sources || []) if (!ids.includes(s)) ids.push(s);
      }
      if (!ids.length) { srcBox.appendChild(el('p', { class: 'muted' }, 'Aucune source répertoriée.')); return; }
      for (const id of ids) {
        const s = (meta.sources || {})[id];
        const box = el('section', { class: 'source', dataset: { source: id } });
        box.appendChild(el('h3', null, s && s.title ? s.title : id, el('span', { class: 'muted' }, ' (' + id + ')')));
        if (!s) { box.appendChild(el('p', { class: 'muted' }, 'Source non décrite.')); srcBox.appendChild(box); continue; }
        box.appendChild(el('p', null, 'Licence : ' + (s.licence || 'non précisée')));
        const snaps = s.snapshots || [];
        if (snaps.length) {
          const tb = el('tbody');
          for (const sn of snaps) {
            tb.appendChild(el('tr', null,
              el('td', null, sn.vintage != null ? String(sn.vintage) : '—'),
              el('td', { title: sn.url || null }, sn.file || '—'),
              el('td', null, el('code', { title: sn.sha256 || null }, (sn.sha256 || '').slice(0, 12))),
              el('td', null, sn.fetched_at ? A.fmtDay(sn.fetched_at) : '—')));
          }
          box.appendChild(el('table', { class: 'snapshots' }, el('thead', null, el('tr', null,
            el('th', null, 'Millésime'), el('th', null, 'Fichier'), el('th', null, 'SHA-256'), el('th', null, 'Récupéré le'))), tb));
        }
        srcBox.appendChild(box);
      }
    };

    const drawLocator = (shapes, code) => {
      if (!map) {
        map = new A.MapView(wrap, { interactive: false, buttons: false, stroke: 'never' });
        A.currentMap = map;
      }
      if (map.shapes !== shapes) map.setShapes(shapes);
      const idx = map.index.get(code);
      const classOf = new Int32Array(map.n);
      if (idx != null) classOf[idx] = 1;
      map.opts.stroke = map.n > 3000 ? 'never' : 'always';
      map.setFills(classOf, ['#dcdcdc', '#c2410c']);
      map.marker = idx != null ? idx : null;
      map.zoom = 1; map.cx = map.W / 2; map.cy = map.H / 2;
      map.render();
    };

    window.addEventListener('hashchange', () => render().catch(fail));
    function fail(err) { A.showError(err); done(); }
    await render();
  };
})();
