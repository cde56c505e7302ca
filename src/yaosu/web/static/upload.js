/* The resource pages' scripts (templates/ws/resources/). No libraries.
 *
 * 1. The catalog form's information items: add a row (cloned from a <template>), remove one.
 * 2. The chunked, resumable upload of a new dataset version, through the JSON API:
 *      POST /api/v1/resources/{id}/uploads {filename, size, encoding}   an upload session
 *      PUT  /api/v1/uploads/{upload}/chunks?offset=N  (the bytes)        until received = size
 *      POST /api/v1/uploads/{upload}/complete                            an ingest job
 *      GET  /api/v1/jobs/{job}                                           polled until it ends
 *    The upload's id is kept in localStorage per resource. After a network failure the page
 *    asks the server how much arrived and carries on from there (a few retries, then a
 *    "resume" button); after a reload the user selects the same file again (same name and
 *    size) and only the rest is sent. A job still running is shown again after a reload.
 *    Writes carry X-CSRF-Token from <meta name="csrf-token"> (the session cookie's CSRF check).
 */
(function () {
  "use strict";

  var API = "/api/v1";
  var RETRIES = 3; // automatic retries after a network failure, before asking the user
  var POLL_MS = 500;

  // --- the information items of the catalog form -------------------------------------------
  function fieldRows() {
    var table = document.getElementById("res-fields");
    var template = document.getElementById("res-field-template");
    var add = document.getElementById("res-field-add");
    if (!table || !template || !add) return;
    var body = table.tBodies[0];
    add.addEventListener("click", function () {
      var row = template.content.firstElementChild.cloneNode(true);
      body.appendChild(row);
      row.querySelector("input").focus();
    });
    body.addEventListener("click", function (event) {
      var button = event.target.closest(".res-field-remove");
      if (!button) return;
      var row = button.closest("tr");
      if (body.rows.length > 1) {
        row.remove();
      } else {
        row.querySelectorAll("input").forEach(function (input) { input.value = ""; });
      }
    });
  }

  // --- the upload ------------------------------------------------------------------------------
  function HttpError(status, body) {
    this.status = status;
    this.body = body;
  }

  function sleep(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
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

  function human(n) {
    var units = ["B", "KB", "MB", "GB"];
    var size = n || 0;
    var i = 0;
    while (size >= 1024 && i < units.length - 1) {
      size /= 1024;
      i += 1;
    }
    return i === 0 ? size + " B" : size.toFixed(1) + " " + units[i];
  }

  function uploader(root) {
    var rid = root.dataset.resource;
    var key = "yaosu.upload." + rid;
    var words = JSON.parse(document.getElementById("upload-words").textContent);
    var english = document.documentElement.lang === "en";
    var meta = document.querySelector('meta[name="csrf-token"]');
    var csrf = meta ? meta.content : "";
    function $(id) { return document.getElementById(id); }
    var fileInput = $("up-file");
    var encoding = $("up-encoding");
    var startButton = $("up-start");
    var resumeButton = $("up-resume");
    var bar = $("up-progress");
    var percentText = $("up-percent");
    var statusText = $("up-status");
    var errorText = $("up-error");
    var jobPanel = $("job-panel");
    var jobBar = $("job-progress");
    var jobStatus = $("job-status");
    var jobRows = $("job-rows");
    var jobBytes = $("job-bytes");
    var jobError = $("job-error");
    var jobLinks = $("job-links");
    var jobRetry = $("job-retry");
    var busy = false;
    var watching = null;

    function say(name, values) {
      return format(words[name] || name, values || {});
    }

    function load() {
      try {
        return JSON.parse(localStorage.getItem(key) || "null");
      } catch (e) {
        return null;
      }
    }
    function save(state) { localStorage.setItem(key, JSON.stringify(state)); }
    function forget() { localStorage.removeItem(key); }

    function percent(received, size) {
      return size ? Math.floor((received * 100) / size) : 0;
    }
    function show(received, size) {
      var p = percent(received, size);
      bar.value = p;
      bar.textContent = p + "%";
      percentText.textContent = p + "%";
      root.dataset.received = String(received);
    }
    function status(text) { statusText.textContent = text; }
    function error(text) {
      errorText.textContent = text || "";
      errorText.hidden = !text;
    }
    function message(err) {
      if (!(err instanceof HttpError)) return say("interrupted", { percent: bar.value });
      var e = err.body && err.body.error;
      if (!e) return "HTTP " + err.status;
      return english ? e.message : e.message_zh || e.message;
    }

    // One JSON API call; a network failure rejects with the fetch TypeError, an error answer
    // with HttpError carrying the error envelope.
    async function api(method, path, json, bytes) {
      var headers = { Accept: "application/json" };
      var init = { method: method, headers: headers, credentials: "same-origin" };
      if (method !== "GET") headers["X-CSRF-Token"] = csrf;
      if (bytes !== undefined) {
        headers["Content-Type"] = "application/octet-stream";
        init.body = bytes;
      } else if (json !== undefined) {
        headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(json);
      }
      var response = await fetch(path, init);
      var body = null;
      try {
        body = await response.json();
      } catch (e) {
        if (response.ok) throw e; // a body cut short: as a network failure
      }
      if (!response.ok) throw new HttpError(response.status, body);
      return body;
    }

    function interrupted() {
      error(say("interrupted", { percent: bar.value }));
      status("");
      resumeButton.hidden = false;
    }

    async function start() {
      if (busy) return;
      var file = fileInput.files && fileInput.files[0];
      if (!file) {
        error(say("choose_file"));
        return;
      }
      busy = true;
      startButton.disabled = true;
      resumeButton.hidden = true;
      error("");
      try {
        var saved = load();
        var upload = null;
        if (saved && !saved.job && saved.name === file.name && saved.size === file.size) {
          upload = await api("GET", API + "/uploads/" + saved.id);
          if (upload.status !== "open") {
            if (upload.job_id) {
              save({ id: upload.id, name: file.name, size: file.size, job: upload.job_id });
              show(file.size, file.size);
              watch(await api("GET", API + "/jobs/" + upload.job_id), file.size);
              return;
            }
            upload = null;
          } else {
            status(say("resuming", { name: file.name, percent: percent(upload.received, upload.size) }));
          }
        } else if (saved && !saved.job) {
          status(say("other_file", { name: saved.name }));
        }
        if (!upload) {
          if (!(saved && !saved.job)) status(say("opening"));
          var body = { filename: file.name, size: file.size };
          if (encoding.value) body.encoding = encoding.value;
          upload = await api("POST", API + "/resources/" + rid + "/uploads", body);
          save({ id: upload.id, name: file.name, size: file.size });
          status(say("sending", { name: file.name }));
        }
        await send(upload, file);
      } catch (err) {
        if (err instanceof HttpError) error(message(err));
        else interrupted();
      } finally {
        busy = false;
        startButton.disabled = false;
      }
    }

    async function send(upload, file) {
      var chunk = Math.max(1024, parseInt(root.dataset.chunk, 10) || 1048576);
      var offset = upload.received;
      var failures = 0;
      show(offset, file.size);
      while (offset < file.size) {
        var end = Math.min(file.size, offset + chunk);
        try {
          upload = await api(
            "PUT",
            API + "/uploads/" + upload.id + "/chunks?offset=" + offset,
            undefined,
            file.slice(offset, end)
          );
          failures = 0;
        } catch (err) {
          var lost = err instanceof HttpError && err.body && err.body.error &&
            err.body.error.code === "wrong_offset";
          if (err instanceof HttpError && !lost) throw err;
          failures += 1;
          if (failures > RETRIES) {
            interrupted();
            return;
          }
          status(say("retrying", { n: failures }));
          await sleep(250 * Math.pow(2, failures - 1));
          try {
            // Ask where the server stands: the lost chunk may or may not have arrived.
            upload = await api("GET", API + "/uploads/" + upload.id);
          } catch (again) {
            if (again instanceof HttpError) throw again;
            continue;
          }
          status(say("sending", { name: file.name }));
        }
        offset = upload.received;
        show(offset, file.size);
      }
      status(say("completing"));
      var job = await api("POST", API + "/uploads/" + upload.id + "/complete");
      save({ id: upload.id, name: file.name, size: file.size, job: job.id });
      watch(job, file.size);
    }

    function render(job, size) {
      jobPanel.hidden = false;
      jobStatus.textContent = say("st." + job.status);
      jobStatus.dataset.status = job.status;
      jobStatus.className = "badge status-" + job.status;
      jobRows.textContent = (job.rows_done || 0).toLocaleString();
      jobBytes.textContent = human(job.bytes_done);
      var total = job.bytes_total || size;
      if (job.status === "succeeded") {
        jobBar.value = 100;
      } else if (total && job.bytes_done) {
        jobBar.value = Math.min(99, Math.floor((job.bytes_done * 100) / total));
      } else {
        jobBar.removeAttribute("value"); // indeterminate until the first progress report
      }
      jobLinks.hidden = job.status !== "succeeded";
      var ended = job.status === "failed" || job.status === "cancelled";
      jobRetry.hidden = !ended;
      jobError.hidden = !ended;
      if (job.status === "succeeded") {
        status(say("done", { rows: (job.rows_done || 0).toLocaleString() }));
        forget();
      } else if (ended) {
        var e = job.error || {};
        jobError.textContent = say("failed") + " " + ((english ? e.message : e.message_zh) || e.message || "");
        status("");
        forget();
      }
    }

    function watch(job, size) {
      watching = job.id;
      root.dataset.job = job.id;
      render(job, size);
      if (job.status === "queued" || job.status === "running") {
        setTimeout(poll, POLL_MS, job.id, size);
      }
    }

    async function poll(id, size) {
      if (watching !== id) return;
      var job;
      try {
        job = await api("GET", API + "/jobs/" + id);
      } catch (err) {
        if (err instanceof HttpError) {
          jobError.textContent = message(err);
          jobError.hidden = false;
          return;
        }
        setTimeout(poll, POLL_MS * 4, id, size); // the network is back soon, or the user reloads
        return;
      }
      watch(job, size);
    }

    async function retry() {
      if (!watching) return;
      jobRetry.disabled = true;
      try {
        var job = await api("POST", API + "/jobs/" + watching + "/retry");
        watch(job, 0);
      } catch (err) {
        jobError.textContent = message(err);
        jobError.hidden = false;
      } finally {
        jobRetry.disabled = false;
      }
    }

    // After a reload: an unfinished upload waits for its file; a job is shown until it ends.
    async function restore() {
      var saved = load();
      try {
        if (saved && saved.job) {
          show(saved.size, saved.size);
          watch(await api("GET", API + "/jobs/" + saved.job), saved.size);
          return;
        }
        if (saved) {
          var upload = await api("GET", API + "/uploads/" + saved.id);
          if (upload.status === "open") {
            show(upload.received, upload.size);
            status(say("paused", {
              name: saved.name,
              size: human(saved.size),
              percent: percent(upload.received, upload.size),
            }));
            root.dataset.paused = "true";
            return;
          }
          if (upload.job_id) {
            save({ id: saved.id, name: saved.name, size: saved.size, job: upload.job_id });
            show(saved.size, saved.size);
            watch(await api("GET", API + "/jobs/" + upload.job_id), saved.size);
            return;
          }
          forget();
        }
      } catch (err) {
        forget(); // an upload this node no longer knows: start afresh
      }
      var active = root.dataset.activeJob;
      if (active) {
        try {
          watch(await api("GET", API + "/jobs/" + active), 0);
        } catch (err) {
          /* the recent-jobs table still shows it */
        }
      }
    }

    startButton.addEventListener("click", start);
    resumeButton.addEventListener("click", start);
    jobRetry.addEventListener("click", retry);
    restore().finally(function () { root.dataset.ready = "true"; });
  }

  function init() {
    fieldRows();
    var root = document.getElementById("res-upload");
    if (root) uploader(root);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
