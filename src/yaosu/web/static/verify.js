/* Verify the ledger trail in the browser (templates/ws/trail/_trail.html). No libraries.
 *
 * For the entries shown in a trail fragment, with nothing but WebCrypto:
 *  1. the node's verifier key is the one pinned in the fragment (data-ledger-key, rendered by
 *     the server with the page), never one fetched while verifying; its key id is recomputed;
 *  2. a fresh signed checkpoint (C2SP signed note) is fetched and its Ed25519 signature by the
 *     pinned key (same name, same key id) is checked with crypto.subtle.verify;
 *  3. per entry: the exact entry bytes are fetched, compared with the row (type, time, subject),
 *     hashed as the RFC 9162 leaf SHA-256(0x00 || entry), and its inclusion proof at the
 *     checkpoint's size is folded (RFC 9162 §2.1.3.2) up to a root that must equal the signed one.
 * The server's own claims (the proof's leaf_hash, any "ok") are never used.
 *
 * Loaded by a <script> tag inside each fragment, possibly several times (htmx re-inserts script
 * tags it swaps in): the guard below keeps one click handler, delegated on the document.
 */
(function () {
  "use strict";
  if (window.yaosuTrailVerify) return;

  var API = "/api/v1/ledger";
  var SIG_PREFIX = "\u2014 ";
  var encoder = new TextEncoder();

  function Failure(word, detail) {
    this.word = word;
    this.detail = detail || "";
  }

  function format(text, values) {
    // English plurals as the server writes them: {n|row|rows} (see yaosu.kit.wording).
    text = text.replace(/\{(\w+)\|([^{}|]*)\|([^{}|]*)\}/g, function (all, name, one, other) {
      var has = Object.prototype.hasOwnProperty.call(values, name);
      return has && Math.abs(Number(String(values[name]).replace(/,/g, ""))) === 1 ? one : other;
    });
    return text.replace(/\{(\w+)\}/g, function (all, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : all;
    });
  }

  function hex(bytes) {
    var out = "";
    for (var i = 0; i < bytes.length; i++) out += bytes[i].toString(16).padStart(2, "0");
    return out;
  }

  function b64encode(bytes) {
    var bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin);
  }

  // Strict standard base64, as the Python verifier: padded, one spelling per value.
  function b64decode(text) {
    if (typeof text !== "string" || text.length % 4 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
      return null;
    }
    var bin = atob(text);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return b64encode(bytes) === text ? bytes : null;
  }

  function concat() {
    var total = 0, i;
    for (i = 0; i < arguments.length; i++) total += arguments[i].length;
    var out = new Uint8Array(total), at = 0;
    for (i = 0; i < arguments.length; i++) {
      out.set(arguments[i], at);
      at += arguments[i].length;
    }
    return out;
  }

  function same(a, b) {
    if (!a || !b || a.length !== b.length) return false;
    var diff = 0;
    for (var i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    return diff === 0;
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  function leafHash(entry) {
    return sha256(concat(Uint8Array.of(0x00), entry));
  }

  function nodeHash(left, right) {
    return sha256(concat(Uint8Array.of(0x01), left, right));
  }

  // "<name>+<8 hex key id>+<base64(0x01 || Ed25519 public key)>"; the key id is
  // SHA-256(name || "\n" || 0x01 || key)[:4] (C2SP signed-note).
  async function parseKey(text) {
    var one = text.indexOf("+");
    var two = text.indexOf("+", one + 1);
    if (one < 1 || two < 0) throw new Failure("key_bad");
    var name = text.slice(0, one);
    var idHex = text.slice(one + 1, two).toLowerCase();
    var raw = b64decode(text.slice(two + 1));
    if (!/^[0-9a-f]{8}$/.test(idHex) || !raw || raw.length !== 33 || raw[0] !== 0x01) {
      throw new Failure("key_bad");
    }
    var publicKey = raw.slice(1);
    var id = (await sha256(concat(encoder.encode(name + "\n"), raw))).slice(0, 4);
    if (hex(id) !== idHex) throw new Failure("key_bad", idHex);
    return { name: name, id: id, idHex: idHex, publicKey: publicKey };
  }

  // A signed note: text, a blank line, then "— <name> <base64(key id || signature)>" lines.
  function splitNote(text) {
    var split = text.lastIndexOf("\n\n");
    if (split < 0 || !text.endsWith("\n")) throw new Failure("sig_bad", "malformed note");
    var body = text.slice(0, split + 1);
    var lines = text.slice(split + 2, -1).split("\n");
    var sigs = [];
    lines.forEach(function (line) {
      if (!line.startsWith(SIG_PREFIX)) throw new Failure("sig_bad", "malformed signature line");
      var rest = line.slice(SIG_PREFIX.length);
      var space = rest.indexOf(" ");
      var raw = space > 0 ? b64decode(rest.slice(space + 1)) : null;
      if (!raw || raw.length <= 4) throw new Failure("sig_bad", "malformed signature line");
      sigs.push({ name: rest.slice(0, space), keyId: raw.slice(0, 4), signature: raw.slice(4) });
    });
    return { body: body, sigs: sigs };
  }

  function parseCheckpoint(body) {
    var lines = body.slice(0, -1).split("\n");
    if (lines.length < 3 || !/^(0|[1-9][0-9]{0,15})$/.test(lines[1])) {
      throw new Failure("sig_bad", "malformed checkpoint");
    }
    var root = b64decode(lines[2]);
    var size = Number(lines[1]);
    if (!root || root.length !== 32 || !Number.isSafeInteger(size)) {
      throw new Failure("sig_bad", "malformed checkpoint");
    }
    return { origin: lines[0], size: size, root: root };
  }

  async function openCheckpoint(key, cryptoKey, text) {
    var note = splitNote(text);
    var mine = note.sigs.filter(function (s) {
      return s.name === key.name && same(s.keyId, key.id);
    });
    if (!mine.length) throw new Failure("no_sig");
    var message = encoder.encode(note.body);
    for (var i = 0; i < mine.length; i++) {
      var valid = await crypto.subtle.verify({ name: "Ed25519" }, cryptoKey, mine[i].signature, message);
      if (!valid) throw new Failure("sig_bad");
    }
    return parseCheckpoint(note.body);
  }

  // RFC 9162 §2.1.3.2. Plain arithmetic rather than bit operators: indexes may pass 2^31.
  async function rootFromProof(leaf, index, size, proof) {
    if (index >= size) return null;
    var fn = index, sn = size - 1, r = leaf;
    for (var i = 0; i < proof.length; i++) {
      if (sn === 0) return null; // longer than the path to the root
      if (fn % 2 === 1 || fn === sn) {
        r = await nodeHash(proof[i], r);
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      } else {
        r = await nodeHash(r, proof[i]);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    return sn === 0 ? r : null; // otherwise shorter than the path
  }

  async function fetchOk(url, what) {
    var response;
    try {
      response = await fetch(url, { cache: "no-store", credentials: "same-origin" });
    } catch (e) {
      throw new Failure("fetch_failed", what);
    }
    if (!response.ok) throw new Failure("fetch_failed", what);
    return response;
  }

  function entryMatchesRow(bytes, row, subject) {
    try {
      var data = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
      return (
        data.type === row.dataset.type &&
        data.time === row.dataset.time &&
        Array.isArray(data.subjects) &&
        data.subjects.indexOf(subject) >= 0
      );
    } catch (e) {
      return false;
    }
  }

  // One entry: a list of steps, each {step, ok (true, false or null for facts), text, title}.
  async function verifyEntry(row, subject, cp, words) {
    var index = Number(row.dataset.entry);
    var steps = [
      {
        step: "signature",
        ok: true,
        text: words.sig_ok + " · " + words.key_id + " " + cp.keyIdHex + " · " + words.tree_size + " " + cp.size,
      },
    ];
    if (!(index < cp.size)) {
      steps.push({ step: "root", ok: false, text: words.too_new });
      return steps;
    }
    try {
      var entry = new Uint8Array(
        await (await fetchOk(API + "/entries/" + index, "entry " + index)).arrayBuffer()
      );
      var matches = entryMatchesRow(entry, row, subject);
      steps.push({ step: "entry", ok: matches, text: matches ? words.entry_ok : words.entry_bad });
      var leaf = await leafHash(entry);
      steps.push({ step: "leaf", ok: null, text: words.leaf + " " + hex(leaf).slice(0, 16) + "…", title: hex(leaf) });
      var url = API + "/proof/inclusion?index=" + index + "&size=" + cp.size;
      var body = await (await fetchOk(url, "proof " + index)).json();
      var hashes = Array.isArray(body.proof) ? body.proof.map(b64decode) : [null];
      var shaped =
        body.index === index && body.size === cp.size &&
        hashes.every(function (h) { return h && h.length === 32; });
      steps.push({ step: "proof", ok: shaped ? null : false, text: format(words.proof_len, { n: hashes.length }) });
      var root = shaped ? await rootFromProof(leaf, index, cp.size, hashes) : null;
      var rootOk = same(root, cp.root);
      steps.push({
        step: "root",
        ok: rootOk,
        text: rootOk ? words.root_ok : words.root_bad,
        title: root ? hex(root) : "",
      });
    } catch (e) {
      if (!(e instanceof Failure)) throw e;
      steps.push({ step: "root", ok: false, text: format(words[e.word], { what: e.detail }) });
    }
    return steps;
  }

  function showSteps(row, steps) {
    var cell = row.querySelector("[data-check]");
    var list = document.createElement("ul");
    list.className = "trail-steps";
    var ok = steps.every(function (s) { return s.ok !== false; });
    steps.forEach(function (s) {
      var item = document.createElement("li");
      item.dataset.step = s.step;
      if (s.ok !== null) item.dataset.ok = String(s.ok);
      item.className = s.ok === true ? "ok" : s.ok === false ? "bad" : "";
      item.textContent = (s.ok === true ? "✓ " : s.ok === false ? "✗ " : "· ") + s.text;
      if (s.title) item.title = s.title;
      list.appendChild(item);
    });
    cell.replaceChildren(list);
    row.dataset.verified = ok ? "ok" : "bad";
    return ok;
  }

  function showResult(section, ok, text) {
    var result = section.querySelector("[data-trail-result]");
    result.textContent = (ok === true ? "✓ " : ok === false ? "✗ " : "") + text;
    result.className = "trail-result" + (ok === true ? " ok" : ok === false ? " bad" : "");
    if (ok === null) delete section.dataset.verified;
    else section.dataset.verified = ok ? "ok" : "bad";
  }

  async function verifyTrail(section, button) {
    var words = JSON.parse(section.dataset.words || "{}");
    var subject = section.dataset.subject;
    var rows = Array.prototype.slice.call(section.querySelectorAll("tr[data-entry]"));
    var note = section.querySelector("[data-trail-checkpoint]");
    rows.forEach(function (row) { delete row.dataset.verified; });
    showResult(section, null, words.checking);
    if (!window.isSecureContext || !window.crypto || !crypto.subtle) {
      showResult(section, false, words.no_crypto);
      return;
    }
    var key, cryptoKey, cp;
    try {
      key = await parseKey(section.dataset.ledgerKey || "");
    } catch (e) {
      showResult(section, false, words.key_bad);
      return;
    }
    try {
      cryptoKey = await crypto.subtle.importKey("raw", key.publicKey, { name: "Ed25519" }, false, ["verify"]);
    } catch (e) {
      showResult(section, false, words.no_ed25519);
      return;
    }
    try {
      var text = await (await fetchOk(API + "/checkpoint", words.checkpoint)).text();
      cp = await openCheckpoint(key, cryptoKey, text);
      cp.keyIdHex = key.idHex;
    } catch (e) {
      if (!(e instanceof Failure)) throw e;
      var why = format(words[e.word], { what: e.detail });
      rows.forEach(function (row) { showSteps(row, [{ step: "signature", ok: false, text: why }]); });
      note.hidden = true;
      showResult(section, false, why);
      return;
    }
    note.textContent =
      words.checkpoint + ": " + words.origin + " " + cp.origin + " · " + words.tree_size + " " + cp.size +
      " · " + words.root + " " + b64encode(cp.root) + " · " + words.key_id + " " + key.idHex;
    note.hidden = false;
    var outcomes = await Promise.all(
      rows.map(async function (row) {
        return showSteps(row, await verifyEntry(row, subject, cp, words));
      })
    );
    var bad = outcomes.filter(function (ok) { return !ok; }).length;
    if (bad) showResult(section, false, format(words.some_bad, { bad: bad, n: rows.length }));
    else showResult(section, true, format(words.all_ok, { n: rows.length, size: cp.size, kid: key.idHex }));
    button.textContent = words.verify_again;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-trail-verify]");
    if (!button) return;
    var section = button.closest("[data-trail]");
    if (!section || section.dataset.busy) return;
    section.dataset.busy = "1";
    button.disabled = true;
    verifyTrail(section, button)
      .catch(function () {
        // Anything unforeseen is a failure to verify, never a silent pass.
        var n = section.querySelectorAll("tr[data-entry]").length;
        var words = JSON.parse(section.dataset.words || "{}");
        showResult(section, false, format(words.some_bad || "{bad}/{n}", { bad: n, n: n }));
      })
      .finally(function () {
        delete section.dataset.busy;
        button.disabled = false;
      });
  });

  // The buttons come disabled and are enabled once this script runs: on the page that loaded
  // it, and on every fragment htmx swaps in later (the script itself then runs only once).
  function enable() {
    document.querySelectorAll("[data-trail] [data-trail-verify]").forEach(function (button) {
      if (!button.closest("[data-trail]").dataset.busy) button.disabled = false;
    });
  }
  document.addEventListener("htmx:load", enable);
  enable();

  window.yaosuTrailVerify = { leafHash: leafHash, nodeHash: nodeHash, rootFromProof: rootFromProof };
})();
