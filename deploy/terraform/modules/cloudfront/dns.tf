# Optional Route 53 records: the domain as an alias of the distribution, and this region's entry
# of a latency-based origin name for stacks in several regions.

resource "aws_route53_record" "alias" {
  for_each = var.route53_zone_id == null ? toset([]) : toset(["A", "AAAA"])
  zone_id  = var.route53_zone_id
  name     = var.domain_name
  type     = each.key

  alias {
    name                   = aws_cloudfront_distribution.this.domain_name
    zone_id                = aws_cloudfront_distribution.this.hosted_zone_id
    evaluate_target_health = false
  }
}

resource "aws_route53_record" "latency" {
  count          = var.route53_zone_id != null && var.latency_routing != null ? 1 : 0
  zone_id        = var.route53_zone_id
  name           = var.latency_routing.record_name
  type           = "A"
  set_identifier = var.latency_routing.set_identifier

  latency_routing_policy {
    region = data.aws_region.current.name
  }

  alias {
    name                   = var.load_balancer_dns_name
    zone_id                = var.load_balancer_zone_id
    evaluate_target_health = true
  }
}
