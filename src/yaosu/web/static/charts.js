/* Workspace charts (grant usage, the city overview) drawn with the vendored Apache ECharts.
 *
 * A page renders each chart's data as JSON in a <script type="application/json" id="…"> block
 * and an element <div class="chart" data-chart="…id of the block…">. Two kinds of data:
 *   {"kind": "series", "x": [...], "series": [{"name", "type": "bar"|"line", "data": [...],
 *    "stack"?, "axis"?: 0|1}], "axes"?: [left name, right name], "horizontal"?: bool}
 *   {"kind": "pie", "items": [{"name", "value"}]}
 * No inline script and no handler attributes: this file finds the charts itself. When drawn,
 * the element gets data-rendered="true" (tests and screenshots wait for it).
 */
(function () {
  "use strict";

  var FONT = "'Noto Sans CJK SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', sans-serif";
  var drawn = [];

  function hasData(spec) {
    if (spec.kind === "pie") return (spec.items || []).length > 0;
    return (spec.x || []).length > 0 && (spec.series || []).some(function (s) {
      return (s.data || []).some(function (v) { return v; });
    });
  }

  function seriesOption(spec) {
    var horizontal = !!spec.horizontal;
    var twoAxes = !horizontal && (spec.series || []).some(function (s) { return s.axis === 1; });
    var category = {
      type: "category",
      data: spec.x,
      axisLabel: horizontal ? { width: 160, overflow: "truncate" } : { hideOverlap: true },
      inverse: horizontal,  // the first category on top, as it reads
    };
    var values = function (index) {
      var axis = { type: "value", minInterval: 1 };
      if (spec.axes && spec.axes[index]) axis.name = spec.axes[index];
      if (index === 1) axis.splitLine = { show: false };
      return axis;
    };
    var valueAxis = twoAxes ? [values(0), values(1)] : values(0);
    return {
      grid: { left: 16, right: twoAxes ? 48 : 24, top: 48, bottom: 16, containLabel: true },
      legend: { top: 0, type: "scroll" },
      // Tooltips drawn on the canvas (richText), never as HTML: unit names are user text.
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, renderMode: "richText" },
      xAxis: horizontal ? valueAxis : category,
      yAxis: horizontal ? category : valueAxis,
      series: (spec.series || []).map(function (s) {
        var out = { name: s.name, type: s.type || "bar", data: s.data };
        if (s.stack) out.stack = s.stack;
        if (twoAxes) out.yAxisIndex = s.axis === 1 ? 1 : 0;
        if (out.type === "line") out.smooth = false;
        if (horizontal) out.label = { show: true, position: "right" };
        return out;
      }),
    };
  }

  function pieOption(spec) {
    return {
      legend: { bottom: 0, type: "scroll" },
      tooltip: { trigger: "item", renderMode: "richText" },
      series: [{
        type: "pie",
        radius: ["35%", "65%"],
        center: ["50%", "45%"],
        label: { formatter: "{b}\n{c}" },
        data: spec.items,
      }],
    };
  }

  function draw(el) {
    if (el.getAttribute("data-rendered") === "true") return;
    var source = document.getElementById(el.getAttribute("data-chart"));
    if (!source) return;
    var spec = JSON.parse(source.textContent);
    var option = spec.kind === "pie" ? pieOption(spec) : seriesOption(spec);
    option.animation = false;
    option.textStyle = { fontFamily: FONT };
    if (!hasData(spec)) {
      option.title = {
        text: el.getAttribute("data-empty") || "—",
        left: "center",
        top: "middle",
        textStyle: { color: "#888", fontSize: 14, fontWeight: "normal", fontFamily: FONT },
      };
    }
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(option);
    drawn.push(chart);
    el.setAttribute("data-rendered", "true");
  }

  function drawAll() {
    if (!window.echarts) return;
    var nodes = document.querySelectorAll("[data-chart]");
    for (var i = 0; i < nodes.length; i++) draw(nodes[i]);
  }

  var pending = null;
  window.addEventListener("resize", function () {
    if (pending) window.clearTimeout(pending);
    pending = window.setTimeout(function () {
      drawn.forEach(function (chart) { chart.resize(); });
    }, 100);
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
