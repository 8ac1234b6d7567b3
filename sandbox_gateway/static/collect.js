/* The sandbox gateway's Collect.js: the public API of NMI's script (configure, startPaymentRequest,
 * clearInputs, the callbacks, the response, the CSS classes and events), written for Remit's
 * sandbox. Each field is an iframe of this script's own origin; the page and the iframes speak by
 * postMessage and each side accepts messages only from the other's origin. */
(function () {
  "use strict";
  if (window.CollectJS) return;

  var script = document.currentScript || document.querySelector("script[data-tokenization-key]");
  var gateway = new URL(script.src, location.href).origin;
  var tokenizationKey = script.getAttribute("data-tokenization-key") || "";
  var CARD = ["ccnumber", "ccexp", "cvv"];
  var CHECK = ["checkname", "checkaccount", "checkaba"];

  function randomId() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  var state = null; // the current configuration

  function frames() {
    return state ? Object.keys(state.frames).map(function (name) { return state.frames[name]; }) : [];
  }

  function send(frame, message) {
    if (frame.iframe.contentWindow) frame.iframe.contentWindow.postMessage(message, gateway);
  }

  function css(value) {
    if (!value) return "";
    if (typeof value === "string") return value;
    return Object.keys(value).map(function (k) { return k + ":" + value[k]; }).join(";");
  }

  function configure(config) {
    config = config || {};
    if (config.variant && config.variant !== "inline") {
      throw new Error("The sandbox's Collect.js offers the inline variant only");
    }
    if (state) {
      frames().forEach(function (f) { if (f.iframe.parentNode) f.iframe.parentNode.removeChild(f.iframe); });
    }
    state = {
      config: config,
      session: randomId(),
      instance: randomId(),
      frames: {},
      pending: null,
      timer: null,
    };
    if (!document.querySelector("link[data-collectjs]")) {
      var link = document.createElement("link");
      link.rel = "stylesheet";
      link.href = gateway + "/token/styles.css";
      link.setAttribute("data-collectjs", "");
      document.head.appendChild(link);
    }
    var fields = config.fields || {};
    Object.keys(fields).forEach(function (name) {
      if (CARD.indexOf(name) < 0 && CHECK.indexOf(name) < 0) return;
      var options = fields[name] || {};
      var host = options.selector ? document.querySelector(options.selector) : null;
      if (!host) return;
      var params = new URLSearchParams({
        field: name,
        key: tokenizationKey,
        session: state.session,
        instance: state.instance,
        parent: location.origin,
        title: options.title || "",
        placeholder: options.placeholder || "",
      });
      var iframe = document.createElement("iframe");
      iframe.src = gateway + "/token/inline.php?" + params.toString();
      iframe.id = "CollectJS" + name;
      iframe.name = "CollectJS" + name;
      iframe.className = "CollectJSInlineIframe";
      iframe.setAttribute("frameborder", "0");
      iframe.setAttribute("scrolling", "no");
      host.appendChild(iframe);
      state.frames[name] = { name: name, iframe: iframe, ready: false, valid: null, saved: false };
    });
    if (!Object.keys(state.frames).length) return;
  }

  function payment() {
    if (state.config.paymentType === "ck" || state.config.paymentType === "check") return "check";
    if (state.config.paymentType === "cc") return "card";
    return state.frames.ccnumber ? "card" : "check";
  }

  function paymentFrames() {
    var names = payment() === "card" ? CARD : CHECK;
    return frames().filter(function (f) { return names.indexOf(f.name) >= 0; });
  }

  function validation(frame, valid, message) {
    frame.valid = valid;
    frame.iframe.classList.toggle("CollectJSValid", valid);
    frame.iframe.classList.toggle("CollectJSInvalid", !valid);
    if (typeof state.config.validationCallback === "function") {
      state.config.validationCallback(frame.name, valid, message || "");
    }
  }

  function finish(ok) {
    if (!state || !state.pending) return;
    clearTimeout(state.timer);
    state.pending = null;
    if (!ok) return;
  }

  function createToken() {
    var body = new URLSearchParams({ key: tokenizationKey, session: state.session, payment: payment() });
    var request = state.pending;
    fetch(gateway + "/token/api/create", { method: "POST", body: body, credentials: "omit", mode: "cors" })
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        if (!state || state.pending !== request) return; // timed out or reconfigured meanwhile
        finish(true);
        // A new session for the next token: the old one is gone with its values.
        state.session = randomId();
        frames().forEach(function (f) { f.saved = false; send(f, { type: "session", session: state.session }); });
        if (answer.error) {
          var frame = state.frames[answer.error.field];
          if (frame) validation(frame, false, answer.error.message);
          return;
        }
        if (typeof state.config.callback === "function") state.config.callback(answer);
      })
      .catch(function () {
        finish(false);
      });
  }

  function startPaymentRequest() {
    if (!state) throw new Error("CollectJS.configure() first");
    if (state.pending) return;
    var request = {};
    state.pending = request;
    var duration = Number(state.config.timeoutDuration) || 0;
    if (duration > 0) {
      state.timer = setTimeout(function () {
        if (state.pending !== request) return;
        state.pending = null;
        if (typeof state.config.timeoutCallback === "function") state.config.timeoutCallback();
      }, duration);
    }
    paymentFrames().forEach(function (f) {
      f.saved = false;
      send(f, { type: "submit", session: state.session });
    });
  }

  function clearInputs() {
    frames().forEach(function (f) {
      send(f, { type: "clear" });
      f.valid = null;
      f.iframe.classList.remove("CollectJSValid", "CollectJSInvalid");
    });
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== gateway || !state) return;
    var data = event.data || {};
    if (data.instance !== state.instance) return;
    var frame = state.frames[data.field];
    if (!frame || event.source !== frame.iframe.contentWindow) return;
    if (data.type === "ready") {
      frame.ready = true;
      send(frame, { type: "style", customCss: css(state.config.customCss), focusCss: css(state.config.focusCss),
        invalidCss: css(state.config.invalidCss), validCss: css(state.config.validCss),
        placeholderCss: css(state.config.placeholderCss) });
      if (frames().every(function (f) { return f.ready; }) && typeof state.config.fieldsAvailableCallback === "function") {
        state.config.fieldsAvailableCallback();
      }
    } else if (data.type === "validation") {
      validation(frame, !!data.valid, data.message);
      if (!data.valid && state.pending) finish(false);
    } else if (data.type === "saved") {
      frame.saved = true;
      validation(frame, true, "");
      if (state.pending && paymentFrames().every(function (f) { return f.saved; })) createToken();
    } else if (data.type === "focus" || data.type === "blur") {
      var detail = { fieldName: frame.name };
      if (data.type === "blur") detail.empty = !!data.empty;
      frame.iframe.dispatchEvent(new CustomEvent(data.type, { detail: detail }));
    } else if (data.type === "enter") {
      var form = frame.iframe.closest("form");
      if (form && form.requestSubmit) form.requestSubmit();
    } else if (data.type === "height") {
      frame.iframe.style.height = Math.max(20, Math.min(200, Number(data.height) || 0)) + "px";
    }
  });

  window.CollectJS = {
    configure: configure,
    startPaymentRequest: startPaymentRequest,
    clearInputs: clearInputs,
    tokenizationKey: tokenizationKey,
  };
})();
