// Draws the dashboard's four charts from the figures the page carries (no network needed).
(function () {
  "use strict";
  function draw() {
    var figures = JSON.parse(document.getElementById("figures").textContent);
    var percent = { type: "value", max: 100, axisLabel: { formatter: "{value}%" } };
    function chart(id, option) {
      var node = document.getElementById(id);
      if (!node) { return; }
      var drawn = echarts.init(node);
      // Marked once rendering (and its animation) has finished: screenshots show whole charts.
      drawn.on("finished", function () { node.dataset.drawn = "true"; });
      drawn.setOption(option);
    }
    chart("chart-channels", {
      tooltip: { trigger: "axis" }, legend: { type: "scroll", top: 0 },
      grid: { top: 40, left: 40, right: 20, bottom: 30 },
      xAxis: { type: "category", data: figures.months }, yAxis: { type: "value", minInterval: 1 },
      series: figures.channels.map(function (s) {
        return { name: s.name, type: "bar", stack: "cases", data: s.data };
      })
    });
    var units = figures.units.slice().reverse();  // best at the top of a horizontal bar chart
    chart("chart-units", {
      tooltip: { trigger: "axis" }, legend: { data: ["按时办结率", "超期率"], top: 0 },
      grid: { top: 30, left: 140, right: 30, bottom: 30 },
      xAxis: percent,
      yAxis: { type: "category", data: units.map(function (u) { return u.unit; }) },
      series: [
        { name: "按时办结率", type: "bar", itemStyle: { color: "#c23531" },
          data: units.map(function (u) { return u.on_time; }) },
        { name: "超期率", type: "bar", itemStyle: { color: "#2f4554" },
          data: units.map(function (u) { return u.overdue; }) }
      ]
    });
    chart("chart-satisfaction", {
      tooltip: { trigger: "axis" }, grid: { top: 20, left: 50, right: 20, bottom: 30 },
      xAxis: { type: "category", data: figures.months }, yAxis: percent,
      series: [{ name: "满意率", type: "line", connectNulls: true, smooth: true,
                 data: figures.satisfaction, label: { show: true, formatter: "{c}%" } }]
    });
    chart("chart-open", {
      title: figures.open.length ? { show: false }
        : { text: "暂无在办问题", left: "center", top: "middle", textStyle: { color: "#888" } },
      tooltip: { trigger: "item", formatter: "{b}:{c} 件({d}%)" },
      legend: { type: "scroll", bottom: 0 },
      series: [{ type: "pie", radius: ["35%", "65%"], data: figures.open,
                 label: { formatter: "{b} {c}" } }]
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); }
  else { draw(); }
})();
