"use strict";
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    // No badge from validator.swagger.io: it would send the spec URL away and break img-src 'self'.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
  });
});
