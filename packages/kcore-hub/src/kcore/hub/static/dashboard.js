/* kcore-hub dashboard: the hub's own widgets, on top of kaithem's widget
 * client (/static/widget.js, loaded first). Each element with data-hub-type
 * and data-hub-id subscribes to that widget; values are shown as text
 * (textContent), never as HTML. Writes go over the widget socket
 * (kaithemapi.sendValue); the server checks who may make them. */
(function () {
  "use strict";
  var COLOR = /^#[0-9a-fA-F]{6}$/;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) {
      e.className = cls;
    }
    if (text !== undefined) {
      e.textContent = String(text);
    }
    return e;
  }

  var binders = {
    bar: function (node, id) {
      var lo = parseFloat(node.getAttribute("data-min"));
      var hi = parseFloat(node.getAttribute("data-max"));
      var fill = node.firstElementChild;
      kaithemapi.subscribe(id, function (v) {
        var f = (v[0] - lo) / (hi - lo);
        fill.style.width = Math.max(0, Math.min(1, f)) * 100 + "%";
        node.className = "hub-bar hub-" + v[1];
      });
    },
    led: function (node, id) {
      var text = node.lastElementChild;
      kaithemapi.subscribe(id, function (v) {
        node.classList.toggle("hub-on", !!v);
        text.textContent = v ? "on" : "off";
      });
    },
    pixels: function (node, id) {
      kaithemapi.subscribe(id, function (v) {
        var dots = node.children;
        for (var i = 0; i < dots.length; i++) {
          var c = v && typeof v[i] === "string" && COLOR.test(v[i]) ? v[i] : "#000000";
          dots[i].style.backgroundColor = c;
          dots[i].classList.toggle("hub-dark", c === "#000000");
          dots[i].title = c;
        }
      });
    },
    state: function (node, id) {
      var name = node.querySelector(".hub-state-name");
      var events = node.querySelector(".hub-events");
      var writable = node.getAttribute("data-hub-write") === "1";
      kaithemapi.subscribe(id, function (v) {
        if (!v || typeof v !== "object") {
          return;
        }
        name.textContent = v.state === null ? "-" : String(v.state);
        node.setAttribute("data-state", String(v.state));
        events.textContent = "";
        (v.events || []).forEach(function (e) {
          var b = el("button", "hub-event", e);
          b.type = "button";
          b.disabled = !writable;
          b.title = writable ? "send the event " + e : "log in to send events";
          b.addEventListener("click", function () {
            kaithemapi.sendValue(id, { event: e });
          });
          events.appendChild(b);
        });
      });
    },
    alerts: function (node, id) {
      var list = node.querySelector(".hub-alert-list");
      var none = node.querySelector(".hub-none");
      var writable = node.getAttribute("data-hub-write") === "1";
      kaithemapi.subscribe(id, function (v) {
        list.textContent = "";
        v = Array.isArray(v) ? v : [];
        none.hidden = v.length > 0;
        v.forEach(function (a) {
          var li = el("li", "hub-alert hub-" + a.priority);
          li.appendChild(el("b", "", a.name));
          li.appendChild(el("span", "hub-alert-state", a.state));
          li.appendChild(el("span", "hub-alert-message", a.message || a.description || ""));
          if (writable && a.state !== "acknowledged") {
            var b = el("button", "hub-ack", "Acknowledge");
            b.type = "button";
            b.addEventListener("click", function () {
              kaithemapi.sendValue(id, { ack: a.id });
            });
            li.appendChild(b);
          }
          list.appendChild(li);
        });
      });
    },
    sun: function (node, id) {
      var where = node.querySelector(".hub-sun-where");
      kaithemapi.subscribe(id, function (v) {
        if (!v) {
          where.textContent = "No location configured.";
          return;
        }
        where.textContent = (v.location ? v.location + ": " : "") +
          (v.is_day === null ? "" : v.is_day ? "day" : "night");
        ["dawn", "sunrise", "sunset", "dusk"].forEach(function (k) {
          node.querySelector('[data-sun="' + k + '"]').textContent = v[k];
        });
      });
    },
    scripts: function (node, id) {
      function row(name) {
        var rows = node.querySelectorAll("tr[data-script]");
        for (var i = 0; i < rows.length; i++) {
          if (rows[i].getAttribute("data-script") === name) {
            return rows[i];
          }
        }
        return null;
      }
      kaithemapi.subscribe(id, function (v) {
        (v || []).forEach(function (s) {
          var r = row(s.name);
          if (r) {
            r.querySelector(".hub-script-status").textContent = s.status;
            r.classList.toggle("hub-failed", /error|missing/.test(s.status));
          }
        });
      });
      var errors = node.getAttribute("data-hub-errors");
      if (errors) {
        kaithemapi.subscribe(errors, function (v) {
          (v || []).forEach(function (s) {
            var r = row(s.name);
            var cell = r && r.querySelector(".hub-script-error");
            if (cell) {
              cell.textContent = s.error || "";
            }
          });
        });
      }
    }
  };

  function start() {
    var nodes = document.querySelectorAll("[data-hub-type][data-hub-id]");
    for (var i = 0; i < nodes.length; i++) {
      var bind = binders[nodes[i].getAttribute("data-hub-type")];
      if (bind) {
        bind(nodes[i], nodes[i].getAttribute("data-hub-id"));
      }
    }
    var health = document.querySelector(".hub-health");
    if (health) {
      kaithemapi.subscribe("hub:health", function (v) {
        health.classList.toggle("hub-degraded", String(v) !== "ok");
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
