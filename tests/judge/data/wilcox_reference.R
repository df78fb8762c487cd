# Reference intervals from R's wilcox.test for gate.judge.kayenta (run with R >= 4.2):
#
#   Rscript tests/judge/data/wilcox_reference.R > tests/judge/data/wilcox_reference.json
#
# Kayenta always uses the normal approximation (with continuity and tie correction), so R is
# asked for it too (exact = FALSE); R switches to it by itself with ties or 50+ observations.
# Per case: R's conf.int and estimate, and `kayenta_estimate`, R's uniroot (tol 1e-4) on the
# same standardized statistic *with* the continuity correction, which is how Kayenta computes
# its estimate (R drops the correction for the estimate).
set.seed(20240611)

num <- function(v) paste0("[", paste(sprintf("%.17g", v), collapse = ", "), "]")

kayenta_estimate <- function(x, y) {
  nx <- length(x); ny <- length(y)
  W <- function(d) {
    dr <- rank(c(x - d, y))
    ties <- table(dr)
    dz <- sum(dr[seq_along(x)]) - nx * (nx + 1) / 2 - nx * ny / 2
    sigma <- sqrt((nx * ny / 12) * ((nx + ny + 1) - sum(ties^3 - ties) / ((nx + ny) * (nx + ny - 1))))
    (dz - sign(dz) * 0.5) / sigma
  }
  uniroot(W, lower = min(x) - max(y), upper = max(x) - min(y), tol = 1e-4)$root
}

cases <- list()
add <- function(name, x, y, conf) {
  r <- wilcox.test(x, y, conf.int = TRUE, conf.level = conf, exact = FALSE)
  cases[[length(cases) + 1]] <<- sprintf(
    '{"name": "%s", "conf_level": %s, "x": %s, "y": %s, "conf_int": %s, "estimate": %s, "kayenta_estimate": %s}',
    name, sprintf("%.17g", conf), num(x), num(y), num(r$conf.int), sprintf("%.17g", r$estimate),
    sprintf("%.17g", kayenta_estimate(x, y)))
}

# continuous data, small to large samples, no shift to a large shift
sizes <- list(c(5, 7), c(12, 15), c(30, 30), c(49, 40), c(60, 80), c(150, 120))
shifts <- c(0, 0.5, 2)
confs <- c(0.90, 0.95, 0.98)
i <- 0
for (s in sizes) for (shift in shifts) {
  i <- i + 1
  conf <- confs[(i %% 3) + 1]
  add(sprintf("normal m=%d n=%d shift=%g", s[1], s[2], shift),
      rnorm(s[1], 10 + shift, 2), rnorm(s[2], 10, 2), conf)
}
for (k in 1:4) {
  add(sprintf("lognormal latency %d", k), rlnorm(40 + 20 * k, -1.2 + 0.1 * k, 0.6), rlnorm(60, -1.2, 0.6), 0.98)
}

# ties
add("halves", round(rnorm(40, 3, 1) * 2) / 2, round(rnorm(45, 3.4, 1) * 2) / 2, 0.95)
add("poisson counts", rpois(30, 3), rpois(30, 4), 0.98)
add("poisson counts, equal", rpois(60, 2), rpois(60, 2), 0.95)
add("few distinct values", sample(c(1, 2, 3), 25, replace = TRUE), sample(c(1, 2, 3, 4), 25, replace = TRUE), 0.98)
add("one constant side", rep(5, 10), c(4, 5, 6, 5, 5, 7, 3, 5, 5, 6), 0.95)

# mostly zeros: per-window error rates of a canary and its baseline
add("issue example", c(rep(0, 7), 3), c(rep(0, 7), 2), 0.98)
add("issue example, 95 %", c(rep(0, 7), 3), c(rep(0, 7), 2), 0.95)
add("one nonzero each", c(rep(0, 29), 0.01), c(rep(0, 29), 0.005), 0.98)
add("zeros against a few", rep(0, 30), c(rep(0, 26), 0.01, 0.02, 0.01, 0.005), 0.98)
for (k in 1:6) {
  p <- c(0.001, 0.002, 0.005, 0.01, 0.02, 0.05)[k]
  n <- c(20, 50, 200, 100, 30, 10)[k]
  add(sprintf("error rates p=%g n=%d", p, n),
      rbinom(30, n, p * (1 + (k %% 2))) / n, rbinom(30, 20 * n, p) / (20 * n), 0.98)
}
add("long mostly-zero series", rbinom(120, 50, 0.003) / 50, rbinom(120, 950, 0.003) / 950, 0.98)

cat('{"source": "R ', paste(R.version$major, R.version$minor, sep = "."),
    ' stats::wilcox.test(x, y, conf.int = TRUE, exact = FALSE)", "cases": [\n', sep = "")
cat(paste(unlist(cases), collapse = ",\n"))
cat("\n]}\n")
