// The loyalty report's charts: the data is in <script id="loyalty-charts"> (JSON, not run).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const source = document.getElementById("loyalty-charts");
  if (!source || typeof Chart === "undefined") return;
  const charts = JSON.parse(source.textContent);
  const colours = ["#06C755", "#9CA3AF", "#F59E0B"];
  const draw = (id, chart, options = {}) => {
    const canvas = document.getElementById(id);
    if (!canvas || !chart.labels.length) return;
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: chart.labels,
        datasets: chart.series.map((series, n) => ({ ...series, backgroundColor: colours[n % colours.length], maxBarThickness: 48 })),
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        plugins: { legend: { display: chart.series.length > 1, position: "bottom" } },
        scales: { x: { ticks: { precision: 0, autoSkip: true, maxRotation: 0 } }, y: { ticks: { precision: 0 }, beginAtZero: true } },
        ...options,
      },
    });
  };
  draw("chart-stamps", charts.stamps);
  draw("chart-cards", charts.cards);
  draw("chart-coupons", charts.coupons, charts.coupons.labels.length > 4 ? { indexAxis: "y" } : {});
});
