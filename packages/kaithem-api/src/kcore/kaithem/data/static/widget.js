/* kaithem widget client: plain JavaScript, no build step.
 *
 * Include it in the page head: <script src="/static/widget.js"></script>.
 * It binds every element with a data-kw-id attribute (what the server's
 * widget render() produces) and keeps one WebSocket to /widgets/ws.
 *
 * Protocol (JSON text frames; the kaithem-api README has the details):
 *   browser -> server  {"upd": [[id, value], ...], "subsc": [id, ...], "unsub": [id, ...]}
 *   server -> browser  [[id, value], ...]; [id] alone: the widget was deleted
 *   reserved ids: __WIDGETERROR__ {id, error}, __SHOWMESSAGE__ text,
 *   __SHOWSNACKBAR__ [text, seconds], __FORCEREFRESH__, _ws_timesync_channel.
 * Text is always shown as text; only {"__html__": "..."} (trusted HTML the
 * server program marked safe) is inserted as HTML.
 */
(function () {
  "use strict";
  if (window.kaithemapi && window.kaithemapi.version) {
    return;
  }
  var api = (window.kaithemapi = { version: 1 });
  var subscribers = {}; // id -> [callback]
  var latest = {}; // id -> value (setValue: latest wins)
  var latestOrder = [];
  var queue = []; // [id, value] (sendValue: every one goes)
  var ws = null;
  var connected = false;
  var retryDelay = 1000;
  var flushTimer = null;
  var offset = 0;
  var bestRtt = Infinity;
  var syncTimer = null;
  var deletedShown = false;
  var statusBox = null;
  var TIMESYNC = "_ws_timesync_channel";

  // ---------------------------------------------------------------- messages

  function messageBox() {
    var box = document.getElementById("kw-messages");
    if (!box) {
      box = document.createElement("div");
      box.id = "kw-messages";
      box.setAttribute("role", "alert");
      (document.body || document.documentElement).appendChild(box);
    }
    return box;
  }

  function showMessage(text, kind, seconds) {
    var item = document.createElement("div");
    item.className = "kw-message kw-" + (kind || "info");
    var span = document.createElement("span");
    span.textContent = String(text);
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "\u00d7";
    close.setAttribute("aria-label", "dismiss");
    close.onclick = function () {
      item.remove();
    };
    item.appendChild(span);
    item.appendChild(close);
    messageBox().appendChild(item);
    if (seconds) {
      setTimeout(function () {
        item.remove();
      }, seconds * 1000);
    }
    return item;
  }
  api.showMessage = showMessage;

  function showStatus(text) {
    if (statusBox) {
      statusBox.remove();
      statusBox = null;
    }
    if (text) {
      statusBox = showMessage(text, "status");
    }
  }

  function setContent(el, v) {
    if (v !== null && typeof v === "object" && typeof v.__html__ === "string") {
      el.innerHTML = v.__html__; // trusted HTML, marked safe by the server program
    } else {
      el.textContent = v === null || v === undefined ? "" : String(v);
    }
  }

  // ---------------------------------------------------------------- socket

  function wsUrl() {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/widgets/ws";
  }

  function rawSend(obj) {
    if (connected && ws) {
      ws.send(JSON.stringify(obj));
      return true;
    }
    return false;
  }

  function connect() {
    var sock;
    try {
      sock = new WebSocket(wsUrl());
    } catch (e) {
      scheduleReconnect("cannot connect");
      return;
    }
    ws = sock;
    sock.onopen = function () {
      connected = true;
      retryDelay = 1000;
      showStatus(null);
      rawSend({ subsc: Object.keys(subscribers), upd: [["__url__", location.href]] });
      timesync(3);
      flush();
    };
    sock.onmessage = function (ev) {
      var data;
      try {
        data = JSON.parse(ev.data);
      } catch (e) {
        showMessage("The server sent a malformed message", "error");
        return;
      }
      for (var i = 0; i < data.length; i++) {
        var entry = data[i];
        if (entry.length === 1) {
          deleted(entry[0]);
        } else {
          dispatch(entry[0], entry[1]);
        }
      }
    };
    sock.onclose = function (ev) {
      if (ws !== sock) {
        return;
      }
      connected = false;
      ws = null;
      if (ev.code === 1008 && ev.reason) {
        showMessage("Disconnected: " + ev.reason, "error");
      }
      scheduleReconnect("connection lost");
    };
  }

  function scheduleReconnect(why) {
    var delay = retryDelay * (0.75 + Math.random() * 0.5);
    retryDelay = Math.min(retryDelay * 2, 20000);
    showStatus(why + ": reconnecting in " + Math.round(delay / 1000) + " s");
    setTimeout(connect, delay);
  }

  function dispatch(id, value) {
    if (id === "__WIDGETERROR__") {
      var text = value && value.error ? value.error : String(value);
      markError(value && value.id, text);
      showMessage(text, "error");
      return;
    }
    if (id === "__SHOWMESSAGE__") {
      showMessage(value, "info");
      return;
    }
    if (id === "__SHOWSNACKBAR__") {
      showMessage(value[0], "info", value[1] || 5);
      return;
    }
    if (id === "__FORCEREFRESH__") {
      location.reload();
      return;
    }
    if (id === TIMESYNC) {
      timeReply(value);
      return;
    }
    var cbs = subscribers[id];
    if (!cbs) {
      return;
    }
    for (var i = 0; i < cbs.length; i++) {
      try {
        cbs[i](value);
      } catch (e) {
        reportError(e);
      }
    }
  }

  function markError(id, text) {
    if (!id) {
      return;
    }
    var els = document.querySelectorAll('[data-kw-id="' + CSS.escape(id) + '"]');
    for (var i = 0; i < els.length; i++) {
      els[i].classList.add("kw-has-error");
      els[i].title = text;
    }
  }

  function deleted(id) {
    delete subscribers[id];
    var els = document.querySelectorAll('[data-kw-id="' + CSS.escape(id) + '"]');
    for (var i = 0; i < els.length; i++) {
      els[i].classList.add("kw-deleted");
      els[i].disabled = true;
    }
    if (!deletedShown) {
      deletedShown = true;
      showMessage("A widget on this page was removed on the server: reload the page.", "error");
    }
  }

  function reportError(e) {
    var text = e && e.stack ? String(e.stack) : String(e);
    api.sendValue("__ERROR__", text.slice(0, 2000));
  }

  // ---------------------------------------------------------------- public API

  api.subscribe = function (id, callback) {
    if (!subscribers[id]) {
      subscribers[id] = [];
      rawSend({ subsc: [id] });
    }
    subscribers[id].push(callback);
  };

  api.unsubscribe = function (id, callback) {
    var cbs = subscribers[id];
    if (!cbs) {
      return;
    }
    var i = cbs.indexOf(callback);
    if (i >= 0) {
      cbs.splice(i, 1);
    }
    if (!cbs.length || callback === undefined) {
      delete subscribers[id];
      rawSend({ unsub: [id] });
    }
  };

  api.setValue = function (id, value) {
    if (!(id in latest)) {
      latestOrder.push(id);
    }
    latest[id] = value;
    scheduleFlush();
  };

  api.sendValue = function (id, value) {
    if (queue.length >= 1000) {
      queue.shift(); // offline for long: keep the newest 1000 messages
    }
    queue.push([id, value]);
    scheduleFlush();
  };

  api.now = function () {
    return Date.now() + offset;
  };

  api.connected = function () {
    return connected;
  };

  function scheduleFlush() {
    if (flushTimer === null) {
      flushTimer = setTimeout(flush, 0);
    }
  }

  function flush() {
    flushTimer = null;
    if (!connected) {
      return; // sent on reconnect
    }
    if (ws.bufferedAmount > 1 << 20) {
      flushTimer = setTimeout(flush, 50);
      return;
    }
    var upd = queue;
    queue = [];
    for (var i = 0; i < latestOrder.length; i++) {
      upd.push([latestOrder[i], latest[latestOrder[i]]]);
    }
    latest = {};
    latestOrder = [];
    if (upd.length) {
      rawSend({ upd: upd });
    }
  }

  // ---------------------------------------------------------------- time sync

  function timesync(times) {
    rawSend({ upd: [[TIMESYNC, performance.now()]] });
    if (times > 1) {
      setTimeout(function () {
        timesync(times - 1);
      }, 1000);
    } else if (!syncTimer) {
      syncTimer = setInterval(function () {
        timesync(1);
      }, 120000);
    }
  }

  function timeReply(v) {
    var rtt = performance.now() - v[0];
    if (rtt <= bestRtt * 1.5 || rtt < 50) {
      bestRtt = Math.min(bestRtt, rtt);
      offset = v[1] + rtt / 2 - Date.now();
    }
  }

  // ---------------------------------------------------------------- widgets

  var binders = {
    span: function (el, id) {
      api.subscribe(id, function (v) {
        setContent(el, v);
      });
    },
    meter: function (el, id) {
      var out = el.querySelector(".kw-value") || el;
      api.subscribe(id, function (v) {
        out.textContent = v[2];
        el.classList.remove("kw-normal", "kw-warning", "kw-error");
        el.classList.add("kw-" + v[1]);
        el.setAttribute("data-kw-value", v[0]);
      });
    },
    button: function (el, id) {
      var down = false;
      function press(e) {
        if (el.disabled || down) {
          return;
        }
        down = true;
        api.sendValue(id, "pushed");
        if (e && e.pointerId !== undefined && el.setPointerCapture) {
          try {
            el.setPointerCapture(e.pointerId);
          } catch (err) {
            /* not capturable: fine */
          }
        }
      }
      function release() {
        if (down) {
          down = false;
          api.sendValue(id, "released");
        }
      }
      el.addEventListener("pointerdown", press);
      el.addEventListener("pointerup", release);
      el.addEventListener("pointercancel", release);
      el.addEventListener("keydown", function (e) {
        if ((e.key === "Enter" || e.key === " ") && !e.repeat) {
          press();
        }
      });
      el.addEventListener("keyup", function (e) {
        if (e.key === "Enter" || e.key === " ") {
          release();
        }
      });
      var guard = el.parentElement && el.parentElement.querySelector(".kw-arm");
      if (guard) {
        guard.addEventListener("click", function () {
          el.disabled = !el.disabled;
          guard.textContent = el.disabled ? "Arm" : "Disarm";
          el.parentElement.classList.toggle("kw-armed", !el.disabled);
        });
      }
      api.subscribe(id, function () {});
    },
    slider: function (el, id) {
      var readout = el.parentElement && el.parentElement.querySelector(".kw-readout");
      var dragging = false;
      function show() {
        if (readout) {
          readout.textContent = el.value;
        }
      }
      el.addEventListener("pointerdown", function () {
        dragging = true;
      });
      el.addEventListener("pointerup", function () {
        dragging = false;
      });
      el.addEventListener(el.getAttribute("data-kw-mode") === "onrelease" ? "change" : "input", function () {
        show();
        api.setValue(id, parseFloat(el.value));
      });
      el.addEventListener("input", show);
      api.subscribe(id, function (v) {
        if (!dragging) {
          el.value = v;
          show();
        }
      });
    },
    switch: function (el, id) {
      el.addEventListener("change", function () {
        api.setValue(id, el.checked);
      });
      api.subscribe(id, function (v) {
        el.checked = !!v;
      });
    },
    text: function (el, id) {
      el.addEventListener("input", function () {
        api.setValue(id, el.value);
      });
      api.subscribe(id, function (v) {
        if (document.activeElement !== el && el.value !== v) {
          el.value = v;
        }
      });
    },
    scrollbox: function (el, id) {
      var length = parseInt(el.getAttribute("data-kw-length"), 10) || 250;
      function add(entry) {
        var line = document.createElement("div");
        setContent(line, entry);
        el.appendChild(line);
      }
      api.subscribe(id, function (v) {
        var atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 4;
        if (v && v.all) {
          el.textContent = "";
          v.all.forEach(add);
        } else if (v && "add" in v) {
          add(v.add);
        }
        while (el.childNodes.length > length) {
          el.removeChild(el.firstChild);
        }
        if (atBottom) {
          el.scrollTop = el.scrollHeight;
        }
      });
    },
    time: function () {
      /* the inline script of the widget keeps it current */
    },
  };

  api.APIWidget = function (id) {
    var obj = {
      id: id,
      value: null,
      upd: function () {},
      set: function (x) {
        obj.value = x;
        api.setValue(id, x);
      },
      send: function (x) {
        api.sendValue(id, x);
      },
      now: api.now,
    };
    api.subscribe(id, function (v) {
      obj.value = v;
      obj.upd(v);
    });
    return obj;
  };

  /* Bind every widget element under root (called on load; call it again
   * after inserting widget HTML). */
  api.scan = function (root) {
    var els = (root || document).querySelectorAll("[data-kw-id]");
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      if (el.kwBound) {
        continue;
      }
      var bind = binders[el.getAttribute("data-kw-type")];
      if (bind) {
        el.kwBound = true;
        bind(el, el.getAttribute("data-kw-id"));
      }
    }
  };

  window.addEventListener("error", function (ev) {
    reportError(ev.error || ev.message);
  });

  function start() {
    api.scan(document);
    connect();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
