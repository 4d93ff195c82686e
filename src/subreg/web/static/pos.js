/* subreg counter pages: camera capture, in-browser JPEG compression, reading the ID card's QR code.
   Progressive: without this script the file inputs still upload. No dependencies. */
(function () {
  "use strict";
  var MAX_SIDE = 1600;      // long side of an uploaded image, in pixels
  var QUALITY = 0.85;       // JPEG quality after compression
  var texts = {};
  try { texts = JSON.parse(document.getElementById("pos-texts").textContent); } catch (e) { texts = {}; }

  function csrf() {
    var m = document.cookie.match(/(?:^|; )subreg_csrf=([^;]*)/);
    if (m) return decodeURIComponent(m[1]);
    var f = document.querySelector("input[name=csrf_token]");
    return f ? f.value : "";
  }

  function q(box, role) { return box.querySelector("[data-role=" + role + "]"); }
  function show(el, on) { if (el) el.classList.toggle("hidden", !on); }
  function note(box, text) { var n = q(box, "note"); if (n) { n.textContent = text; show(n, !!text); } }

  /* Draw a source (video, image bitmap) scaled to at most MAX_SIDE and encode it as JPEG. With
     `aspect` (width / height), the centre is cropped to it: a portrait is framed 3:4 like an ID photo. */
  function toJpeg(source, width, height, canvas, aspect) {
    var sx = 0, sy = 0, sw = width, sh = height;
    if (aspect && width / height > aspect) { sw = Math.round(height * aspect); sx = Math.round((width - sw) / 2); }
    else if (aspect && width / height < aspect) { sh = Math.round(width / aspect); sy = Math.round((height - sh) / 2); }
    var scale = Math.min(1, MAX_SIDE / Math.max(sw, sh));
    canvas.width = Math.round(sw * scale);
    canvas.height = Math.round(sh * scale);
    canvas.getContext("2d").drawImage(source, sx, sy, sw, sh, 0, 0, canvas.width, canvas.height);
    return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", QUALITY); });
  }

  /* Put a blob into the box's file input, so the ordinary form post carries it. */
  function setFile(box, blob) {
    var input = q(box, "file");
    var file = new File([blob], box.dataset.kind + ".jpg", { type: "image/jpeg" });
    var dt = new DataTransfer();
    dt.items.add(file);
    input.files = dt.files;
    input.dataset.compressed = String(blob.size);
    var preview = q(box, "preview");
    preview.src = URL.createObjectURL(blob);
    show(preview, true);
    box.dataset.ready = "1";
    return file;
  }

  function stop(box) {
    box.dataset.live = "";
    if (box._stream) { box._stream.getTracks().forEach(function (t) { t.stop(); }); box._stream = null; }
    show(q(box, "video"), false);
  }

  function startCamera(box) {
    var video = q(box, "video");
    var constraints = { video: { facingMode: box.dataset.facing || "user", width: { ideal: 1280 }, height: { ideal: 960 } }, audio: false };
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { note(box, texts.camera_none || ""); return; }
    navigator.mediaDevices.getUserMedia(constraints).then(function (stream) {
      box._stream = stream;
      box.dataset.live = "";
      video.onloadedmetadata = function () {
        video.play();
        box.dataset.live = "1";
        show(box.querySelector("[data-action=take]"), true);
      };
      video.srcObject = stream;
      show(video, true);
      show(q(box, "preview"), false);
      show(box.querySelector("[data-action=retake]"), false);
    }).catch(function () { note(box, texts.camera_none || ""); });
  }

  function take(box) {
    var video = q(box, "video");
    if (!video.videoWidth) return;
    var aspect = box.dataset.kind === "portrait" ? 3 / 4 : null;
    toJpeg(video, video.videoWidth, video.videoHeight, q(box, "canvas"), aspect).then(function (blob) {
      stop(box);
      var file = setFile(box, blob);
      show(box.querySelector("[data-action=take]"), false);
      show(box.querySelector("[data-action=retake]"), true);
      if (box.dataset.qr) readCard(box, file);
    });
  }

  /* A chosen file is compressed too (a phone photo of 4-8 MB becomes a few hundred kB). */
  function compressChosen(box, input) {
    var original = input.files && input.files[0];
    if (!original || input.dataset.skip === "1") return;
    if (box.dataset.qr) readCard(box, original);
    if (!window.createImageBitmap) return;
    createImageBitmap(original).then(function (bitmap) {
      return toJpeg(bitmap, bitmap.width, bitmap.height, q(box, "canvas"));
    }).then(function (blob) {
      if (blob && blob.size < original.size) { input.dataset.skip = "1"; setFile(box, blob); input.dataset.skip = ""; }
      else { var p = q(box, "preview"); p.src = URL.createObjectURL(original); show(p, true); box.dataset.ready = "1"; }
    }).catch(function () { /* not an image the browser decodes: the server will say so */ });
  }

  function same(text) { return text.normalize("NFC").trim().replace(/\s+/g, " ").toLocaleLowerCase("vi"); }

  /* The card disagrees with what staff typed or what was on file: keep the value, show the card's beside it. */
  function differs(el, value) {
    el.classList.add("invalid");
    el.setAttribute("aria-invalid", "true");
    var hint = document.createElement("small");
    hint.className = "field-error card-differs";
    hint.textContent = (texts.card_differs || "") + " " + value;
    el.insertAdjacentElement("afterend", hint);
  }

  /* Whose card is photographed: the guardian's when that section is shown (holder under 14), nobody's on the
     form when an organization sends an authorized person (their card is kept as a document), else the holder's. */
  function signer() {
    var g = document.querySelector("[data-when=under14]");
    if (g && !g.classList.contains("hidden")) return "guardian";
    var org = document.querySelector("[data-when=organization]");
    var authorized = document.querySelector("[name='organization.signer_is_representative'][value=no]");
    if (org && !org.classList.contains("hidden") && authorized && authorized.checked) return null;
    return "holder";
  }

  /* Read the chip-CCCD QR (or the MRZ) from a card photo and fill the signer's empty fields. */
  function readCard(box, file) {
    var body = new FormData();
    body.append("image", file);
    body.append("kind", "auto");
    fetch("/api/v1/id-documents/parse", {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf(), "Accept-Language": document.documentElement.lang || "vi" }
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
      if (!data || !data.holder) { note(box, texts.qr_none || ""); box.dataset.parsed = "none"; return; }
      var filled = 0, who = signer();
      if (!who) { note(box, texts.qr_read || ""); box.dataset.parsed = data.source + ":0"; return; }
      Object.keys(data.holder).forEach(function (name) {
        var value = data.holder[name];
        var el = document.querySelector("[name='" + who + "." + name + "']");
        if (!el || value === null || value === undefined || value === "") return;
        // Compare as people read it (Unicode form, case, spaces): only a real difference is flagged.
        if (el.value && same(el.value) !== same(String(value))) { differs(el, String(value)); return; }
        el.value = String(value);
        el.dataset.source = data.source;
        el.classList.add("from-card");
        filled += 1;
      });
      note(box, texts.qr_read || "");
      box.dataset.parsed = data.source + ":" + filled;
    }).catch(function () { note(box, texts.qr_none || ""); });
  }

  function bindBox(box) {
    if (box.dataset.bound) return;  // a box carried over from a refused post keeps its handlers
    box.dataset.bound = "1";
    show(q(box, "buttons"), true);
    box.querySelector("[data-action=start]").addEventListener("click", function () { startCamera(box); });
    box.querySelector("[data-action=take]").addEventListener("click", function () { take(box); });
    box.querySelector("[data-action=retake]").addEventListener("click", function () { startCamera(box); });
    q(box, "file").addEventListener("change", function (e) { compressChosen(box, e.target); });
  }
  /* The signer's ID document: the card's two sides, or a passport's photo page, by the chosen ID type. */
  function idDocuments(form) {
    var who = signer(), type = who && form.querySelector("[name='" + who + ".id_type']");
    var passport = !!type && type.value === "passport";
    // An authorized person (not on the form) shows whichever document they have: both kinds are offered.
    form.querySelectorAll("[data-when=passport]").forEach(function (el) { show(el, !who || passport); });
    form.querySelectorAll("[data-when=card]").forEach(function (el) { show(el, !who || !passport); });
  }

  /* A refused save keeps the photos already taken. The form goes by fetch (the same multipart body the
     browser would post); a refusal (4xx) answers with the form again and its errors: that page's <main>
     replaces this one, and each photo box the server did not refuse is carried over with its chosen file,
     so staff retake only what was refused. Any other answer is shown as the page it is. */
  function keepPhotos(form) {
    if (!form || !window.fetch || !window.DOMParser) return;
    form.addEventListener("submit", function (e) {
      var by = e.submitter;
      if (by && by.name === "action" && by.value !== "register") return;  // re-show / add a row: ordinary post
      e.preventDefault();
      if (form.dataset.sending) return;
      form.dataset.sending = "1";
      var body = new FormData(form);
      if (by && by.name) body.append(by.name, by.value);
      // getAttribute: the registration form has buttons named "action", which `form.action` would return.
      fetch(form.getAttribute("action"), { method: "POST", body: body, credentials: "same-origin" }).then(function (r) {
        return r.text().then(function (html) { return { status: r.status, html: html }; });
      }).then(function (res) {
        var doc = new DOMParser().parseFromString(res.html, "text/html");
        var main = doc.getElementById("main");
        if (res.status < 400 || res.status >= 500 || !main || !doc.getElementById(form.getAttribute("id"))) {
          document.open(); document.write(res.html); document.close();
          return;
        }
        var next = document.importNode(main, true);
        next.querySelectorAll(".camera[data-kind]").forEach(function (box) {
          var old = form.querySelector(".camera[data-kind=" + box.dataset.kind + "]");
          if (old && old.dataset.ready === "1" && !box.querySelector("[data-error]")) {
            stop(old);
            old.querySelectorAll("[data-error]").forEach(function (el) { el.remove(); });  // an earlier refusal's
            q(old, "file").classList.remove("invalid");
            q(old, "file").removeAttribute("aria-invalid");
            box.replaceWith(old);
          }
        });
        document.getElementById("main").replaceWith(next);
        document.title = doc.title;
        init(next);
        var first = next.querySelector("[role=alert]");
        if (first) first.scrollIntoView({ block: "start" });
      }).catch(function () {
        delete form.dataset.sending;
        form.submit();  // no answer (network): the ordinary post, which shows the browser's own error
      });
    });
  }

  /* Registration: show the sections the choices call for as staff choose (the server decides again on post). */
  function under14(value) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || "");
    if (!m) return null;
    var now = new Date(), age = now.getFullYear() - Number(m[1]);
    var month = now.getMonth() + 1, day = now.getDate();
    if (month < Number(m[2]) || (month === Number(m[2]) && day < Number(m[3]))) age -= 1;
    return age < 14;
  }

  function renumber(row, i, label) {
    row.querySelectorAll("[name],[id],[for],[aria-describedby]").forEach(function (el) {
      ["name", "id", "for", "aria-describedby"].forEach(function (a) {
        var v = el.getAttribute(a);
        if (!v) return;
        el.setAttribute(a, v.replace(/users\[\d+\]/, "users[" + i + "]").replace(/users-\d+-/, "users-" + i + "-"));
      });
    });
    var legend = row.querySelector("legend");
    if (legend) legend.textContent = label.replace("{n}", String(i + 1));
  }

  /* Binds a page's (or a re-rendered <main>'s) photo boxes, forms and their choices. */
  function init(root) {
    root.querySelectorAll(".camera[data-kind]").forEach(bindBox);
    var upd = root.querySelector("#update-form");
    keepPhotos(upd);
    if (upd) {
      var updType = upd.querySelector("[name='holder.id_type']");
      if (updType) updType.addEventListener("change", function () { idDocuments(upd); });
    }
    var reg = root.querySelector("#register-form");
    keepPhotos(reg);
    if (reg) {
      var kind = reg.querySelector("[name=subscriber_type]");
      var minor = reg.querySelector("[name=under14]");
      var born = reg.querySelector("[name='holder.date_of_birth']");
      var apply = function () {
        var org = kind.value === "organization", child = !org && minor.checked;
        reg.querySelectorAll("[data-when]").forEach(function (el) {
          var w = el.dataset.when;
          if (w === "card" || w === "passport") return;  // idDocuments decides those
          show(el, w === "organization" ? org : (w === "under14" ? child : !org));
        });
        idDocuments(reg);
      };
      reg.querySelectorAll("[data-nojs]").forEach(function (el) { show(el, false); });
      kind.addEventListener("change", apply);
      minor.addEventListener("change", apply);
      reg.querySelectorAll("[name='holder.id_type'], [name='guardian.id_type'], [name='organization.signer_is_representative']")
        .forEach(function (el) { el.addEventListener("change", apply); });
      born.addEventListener("change", function () {
        var u = under14(born.value);
        if (u !== null && u !== minor.checked) { minor.checked = u; apply(); }
      });
      var add = reg.querySelector("[data-action=add-user]");
      add.addEventListener("click", function (e) {
        var list = reg.querySelector("[data-role=users]"), rows = list.querySelectorAll(".user-row");
        var count = reg.querySelector("[data-role=user-rows]");
        if (!rows.length) return;  // nothing to copy: let the form post (the server adds the row)
        e.preventDefault();
        if (rows.length >= Number(list.dataset.max || 30)) return;  // the page's limit (longer lists: the import)
        var row = rows[rows.length - 1].cloneNode(true);
        row.querySelectorAll("input, select").forEach(function (el) {
          el.value = "";
          el.classList.remove("invalid");
          el.removeAttribute("aria-invalid");
          el.removeAttribute("aria-describedby");
          el.removeAttribute("autofocus");
        });
        row.querySelectorAll(".field-error").forEach(function (el) { el.remove(); });
        renumber(row, rows.length, list.dataset.rowLabel || "{n}");
        list.appendChild(row);
        count.value = String(rows.length + 1);
        row.querySelector("input").focus();
      });
    }
  }
  init(document);

  window.addEventListener("pagehide", function () { document.querySelectorAll(".camera").forEach(stop); });
})();
