"""``infraplan policy list | show PACK[@DATE] | check FILE``: the rule packs and what they say
about a scenario, without solving."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from infraplan.cli import app, console
from infraplan.errors import InfraplanError
from infraplan.fmt import plain, usd

policy_app = typer.Typer(
    help="Governance rule packs: list them, show their rules with sources, check a scenario.",
    no_args_is_help=True,
)
app.add_typer(policy_app, name="policy")


@policy_app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The shipped rule packs with their version (research date) and rule counts."""
    from infraplan.policy import registry

    rows: list[dict[str, Any]] = []
    for name in registry.pack_names():
        p = registry.load_pack(name)
        kinds: dict[str, int] = {}
        for rule in p.rules:
            kinds[rule.effect.kind] = kinds.get(rule.effect.kind, 0) + 1
        rows.append({"pack": name, "title": p.title, "version": p.version.isoformat(),
                     "jurisdiction": p.jurisdiction, "rules": len(p.rules), "kinds": kinds})
    if as_json:
        console.print_json(json.dumps(rows))
        return
    t = Table(title="Rule packs (infraplan policy show PACK for the rules)")
    for col in ("pack", "jurisdiction", "version", "rules", "effects", "title"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["pack"], r["jurisdiction"], r["version"], str(r["rules"]),
                  ", ".join(f"{k} {n}" for k, n in sorted(r["kinds"].items())), r["title"])
    console.print(t)
    console.print("Name packs in a scenario with [bold]policy_packs: \\[eu-ai-act, ...][/]; "
                  "pin the law of a date with [bold]name@YYYY-MM[/] "
                  "(e.g. us-export-controls@2025-03).")


@policy_app.command("show")
def show_command(
    ref: Annotated[str, typer.Argument(help="Pack name, optionally @YYYY-MM[-DD] (as of).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every rule of a pack: id, dates as of the date asked, effect, article and source."""
    from infraplan.policy import registry

    try:
        name, pinned = registry.parse_ref(ref)
    except ValueError as exc:
        raise InfraplanError(str(exc)) from None
    pack = registry.load_pack(name)
    as_of = pinned or pack.version
    rows: list[dict[str, Any]] = []
    for rule in pack.rules:
        dates = registry.rule_dates(rule, as_of)
        rows.append({
            "id": rule.id, "title": rule.title, "effect": rule.effect.kind,
            "article": rule.article,
            "in_force": None if dates is None else {
                "from": dates[0].isoformat(),
                "until": dates[1].isoformat() if dates[1] else None},
            "status": ("not yet law" if rule.adopted and rule.adopted > as_of
                       else "repealed" if rule.repealed and rule.repealed <= as_of else "law"),
            "amended": [a.model_dump(mode="json") for a in rule.amended],
            "applies_to": rule.applies_to.model_dump(mode="json", exclude_none=True),
            "details": rule.effect.model_dump(mode="json", exclude={"kind"}),
            "source": rule.source, "confidence": rule.confidence, "link": rule.link,
        })
    if as_json:
        console.print_json(json.dumps({"pack": name, "as_of": as_of.isoformat(),
                                       "version": pack.version.isoformat(), "rules": rows}))
        return
    console.print(f"[bold]{plain(pack.title)}[/] ({plain(name)}, research of "
                  f"{pack.version.isoformat()}; as of {as_of.isoformat()})", highlight=False)
    t = Table(show_lines=True)
    for col in ("rule", "effect", "in force", "applies to", "article and source", "conf"):
        t.add_column(col, overflow="fold")
    for r in rows:
        when = ("-" if r["in_force"] is None else
                f"{r['in_force']['from']} to {r['in_force']['until'] or 'open'}")
        if r["status"] != "law":
            when = f"{r['status']} ({when})"
        if r["amended"]:
            when += " (amended)"
        sel = "; ".join(f"{k}: {v}" for k, v in r["applies_to"].items()) or "everything"
        t.add_row(f"{r['id']}\n{r['title']}", r["effect"], when, sel,
                  f"{r['article']}\n{r['source']}", r["confidence"])
    console.print(t)


@policy_app.command("check")
def check_command(
    file: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Classify every service x region of a scenario under its packs (no solve): class, rules,
    obligations, compliance cost and start, with sources; and the site and chip rules."""
    from infraplan.policy import compile_policy
    from infraplan.scenario import load_scenario

    t0 = time.perf_counter()
    scn = load_scenario(file)
    if not scn.policy_packs:
        raise InfraplanError(
            f"{file}: the scenario names no policy_packs; add e.g. policy_packs: [eu-ai-act, "
            "gdpr-transfers] (infraplan policy list shows the packs)"
        )
    gov = compile_policy(scn)
    took = time.perf_counter() - t0
    if as_json:
        console.print_json(json.dumps({**gov.to_dict(), "warnings": gov.warnings,
                                       "check_s": took}))
        return
    packs = ", ".join(f"{p['pack']} (as of {p['as_of']})" for p in gov.packs)
    console.print(f"[bold]{plain(scn.name)}[/]: packs {plain(packs)}", highlight=False)
    from infraplan.policy import registry

    articles: dict[str, str] = {}
    kinds: dict[str, str] = {}
    sources: dict[str, str] = {}
    for p in gov.packs:
        pack = registry.load_pack(p["pack"])
        for rule in pack.rules:
            articles[rule.id], kinds[rule.id] = rule.article, rule.effect.kind
            sources[rule.id] = f"{pack.law}, {rule.article}. {rule.source}"
    t = Table(title="Services by region: legal class (rules that bind or oblige)")
    for col in ("service", "region", "use case", "class", "rules", "cost", "starts"):
        t.add_column(col, overflow="fold")
    style = {"prohibited": "bold red", "high-risk": "yellow", "limited": "cyan",
             "minimal": "green"}
    duties: dict[str, list[str]] = {}
    for c in gov.classifications:
        uc = c["use_case"] + (" (default)" if c["use_case_defaulted"] else "")
        shown = [r for r in c["rules"] if kinds.get(r) not in ("info", "guidance")]
        t.add_row(plain(c["service"]), plain(c["region"]), uc,
                  f"[{style[c['class']]}]{c['class']}[/]",
                  "\n".join(f"{r} ({articles.get(r, '')})" for r in shown) or "-",
                  usd(c["cost_usd"]) if c["cost_usd"] else "-", c["start_date"] or "never")
    for row in gov.compliance_rows:
        duties.setdefault(row["rule"], row["duties"])
    console.print(t)
    for rid, ds in duties.items():
        if ds:
            console.print(f"[bold]{rid}[/] obliges: " + "; ".join(plain(d) for d in ds),
                          highlight=False, soft_wrap=True)
    shown_rules = sorted({r for c in gov.classifications for r in c["rules"]
                          if kinds.get(r) not in ("info", "guidance")})
    if shown_rules:
        console.print("[bold]Sources[/]")
        for rid in shown_rules:
            console.print(f"  {rid}: {plain(sources.get(rid, ''))}", highlight=False,
                          soft_wrap=True)
    if gov.constraints:
        ct = Table(title="What the rules do to the plan's inputs")
        for col in ("rule", "kind", "what"):
            ct.add_column(col, overflow="fold")
        for c in gov.constraints:
            ct.add_row(c["rule"], c["kind"], plain(c["what"]))
        console.print(ct)
    total = sum(r["cost_usd"] for r in gov.compliance_rows)
    console.print(f"Compliance cost over the horizon (undiscounted): {usd(total)}; "
                  f"{len(gov.guidance)} guidance and information rules (--json lists them). "
                  f"Checked in {took:.2f} s.", highlight=False)
    for m in gov.messages:
        console.print(f"[red]prohibited[/] {plain(m)}", highlight=False, soft_wrap=True)
    for w in gov.warnings:
        console.print(f"[yellow]warning[/] {plain(w)}", highlight=False, soft_wrap=True)
    console.print(f"Next: [bold]infraplan run {plain(file)}[/] plans under these rules and "
                  "prices each binding rule.")
