/* The data-protection pages' scripts (templates/ws/protection/). No libraries.
 *
 * 1. The masked export form (form[data-download]) is a file download: htmx cannot save a file,
 *    so the form is posted here with X-CSRF-Token (from <meta name="csrf-token">) and the
 *    answer is handed to the browser as a file named as the server says. The rows and SHA-256
 *    the server sends in X-Row-Count and X-Content-SHA256 are shown beside the form; a refusal
 *    (an HTML fragment, as for htmx) is shown in its place.
 * 2. A rule row of the policy form can be removed (the "add a rule" button is htmx).
 */
(function () {
  "use strict";

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

  function filenameOf(response) {
    var header = response.headers.get("Content-Disposition") || "";
    var star = /filename\*=(?:UTF-8'')?([^;]+)/i.exec(header);
    if (star) {
      try { return decodeURIComponent(star[1].trim().replace(/^"|"$/g, "")); } catch (e) { /* below */ }
    }
    var plain = /filename="?([^";]+)"?/i.exec(header);
    return plain ? plain[1] : "export";
  }

  function say(out, text, role) {
    var p = document.createElement("p");
    p.className = role === "alert" ? "error" : "notice";
    p.setAttribute("role", role);
    p.textContent = text;
    out.replaceChildren(p);
    return p;
  }

  function save(blob, name) {
    var url = URL.createObjectURL(blob);
    var a = document.createElement("a");
    a.href = url;
    a.download = name;
    a.hidden = true;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
  }

  async function download(form) {
    var out = document.querySelector(form.dataset.output);
    var button = form.querySelector("button[type=submit]");
    var csrf = document.querySelector('meta[name="csrf-token"]');
    button.disabled = true;
    say(out, form.dataset.busy, "status");
    try {
      var response = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { "X-CSRF-Token": csrf ? csrf.content : "", "HX-Request": "true" },
        credentials: "same-origin",
      });
      if (!response.ok) {
        // The server's refusal, rendered and escaped as for htmx.
        out.innerHTML = await response.text();
        return;
      }
      var name = filenameOf(response);
      save(await response.blob(), name);
      var done = say(out, format(form.dataset.done, {
        file: name,
        rows: Number(response.headers.get("X-Row-Count") || 0).toLocaleString(),
        sha256: response.headers.get("X-Content-SHA256") || "",
      }), "status");
      done.id = "pro-export-done";
      done.dataset.sha256 = response.headers.get("X-Content-SHA256") || "";
    } catch (e) {
      say(out, form.dataset.failed, "alert");
    } finally {
      button.disabled = false;
    }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-download]");
    if (!form) return;
    event.preventDefault();
    download(form);
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest(".pro-rule-remove");
    if (!button) return;
    var row = button.closest(".pro-rule");
    if (row) row.remove();
  });
})();
