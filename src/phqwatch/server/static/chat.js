// Chat page: send with fetch and show the reply as it streams (server-sent events from the API).
// Without JavaScript the form posts to /chat/{id}/send and the page reloads with the reply.
(function () {
  "use strict";
  var form = document.getElementById("chat-form");
  if (!form || !window.fetch || !window.TextDecoder) return;
  var log = document.getElementById("chat-log");
  var box = document.getElementById("chat-text");
  var err = document.getElementById("chat-error");
  var send = document.getElementById("chat-send");
  var banner = document.getElementById("safety-banner");
  var cid = form.getAttribute("data-conversation");

  function bubble(role, text) {
    var li = document.createElement("li");
    li.className = "msg msg-" + role;
    var meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = role === "user" ? "You" : "Assistant";
    var p = document.createElement("p");
    p.textContent = text;
    li.appendChild(meta);
    li.appendChild(p);
    var old = document.getElementById("latest");
    if (old) old.removeAttribute("id");
    li.id = "latest";
    log.appendChild(li);
    li.scrollIntoView({ block: "end" });
    return p;
  }

  function showError(message) {
    err.textContent = message;
    err.hidden = false;
  }

  function newNonce() {
    var n = form.elements["nonce"];
    n.value = window.crypto && crypto.randomUUID ? crypto.randomUUID().replace(/-/g, "") : String(Date.now()) + Math.random();
  }

  function handle(name, data, state) {
    if (name === "accepted" && data.pages) banner.hidden = false; // before the reply: crisis never waits
    if (name === "notice") {
      state.notice = data.text;
    }
    if (name === "delta") {
      if (!state.p) state.p = bubble("assistant", "");
      state.p.textContent += data.text;
    }
    if (name === "done") {
      if (!state.p) state.p = bubble("assistant", data.reply.text);
      state.p.textContent = data.reply.text;
      var li = state.p.parentNode;
      if (state.notice) {
        var n = document.createElement("p");
        n.className = "warn notice";
        n.textContent = state.notice;
        li.insertBefore(n, state.p);
      }
      if (data.reply.safety) li.className += " crisis-flag";
      if (data.status === "safety") banner.hidden = false;
      state.done = true;
    }
    if (name === "error") showError(data.detail + (data.fix ? " " + data.fix : ""));
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = box.value;
    err.hidden = true;
    send.disabled = true;
    var body = JSON.stringify({ text: text, message_id: form.elements["nonce"].value });
    fetch("/api/v1/conversations/" + cid + "/messages/stream", {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "text/event-stream",
        "X-CSRF-Token": form.elements["csrf_token"].value,
      },
      body: body,
    })
      .then(function (resp) {
        if (!resp.ok) {
          return resp.json().then(function (j) {
            showError(j.detail + (j.fix ? " " + j.fix : ""));
          });
        }
        bubble("user", text);
        box.value = "";
        var reader = resp.body.getReader();
        var decoder = new TextDecoder();
        var buf = "";
        var state = { p: null, notice: null, done: false };
        function pump() {
          return reader.read().then(function (r) {
            if (r.done) return;
            buf += decoder.decode(r.value, { stream: true });
            var parts = buf.split("\n\n");
            buf = parts.pop();
            parts.forEach(function (block) {
              var name = "", data = "";
              block.split("\n").forEach(function (line) {
                if (line.indexOf("event: ") === 0) name = line.slice(7);
                if (line.indexOf("data: ") === 0) data += line.slice(6);
              });
              if (name) handle(name, JSON.parse(data), state);
            });
            return pump();
          });
        }
        return pump().then(newNonce);
      })
      .catch(function () {
        box.value = text; // the network or the stream failed: the plain form post, same message id (no double)
        form.submit();
      })
      .then(function () {
        send.disabled = false;
        box.focus();
      });
  });
})();
