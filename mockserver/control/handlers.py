"""Handlers of the control plane (openapi/control.yaml). A tenant's token scopes a call to that tenant."""
from __future__ import annotations

from typing import Any

from ..call import Call, Handler, Reply, registrar
from ..domain.errors import InvalidInput, NotFound
from ..serialize import snake
from ..timefmt import iso
from ..version import __version__
from ..views import ClockView, HealthView, NewTenantView

OPERATIONS: dict[str, Handler] = {}
control = registrar(OPERATIONS)


def _tenant_id(call: Call) -> str | None:
    return call.tenant.id if call.tenant else None


@control("getHealth")
def health(call: Call) -> HealthView:
    return HealthView(__version__, len(call.backend.tenants.all()))


@control("reset")
def reset(call: Call) -> Reply:
    backend = call.backend
    backend.reset(call.tenant)
    backend.faults.clear(_tenant_id(call))
    backend.journal.clear(_tenant_id(call))
    return Reply(204)


@control("createTenant")
def create_tenant(call: Call) -> Reply:
    # A key that already has a tenant gets the same answer as a new one, so this call tells no one which keys exist.
    key = (call.body or {}).get("apiKey") or call.backend.ids.key()
    tenant = call.backend.tenants.ensure(key)
    assert tenant is not None  # no limit asked
    return Reply(201, NewTenantView(tenant.id, key))


def _clock_view(call: Call) -> ClockView:
    tenants = call.backend.tenants
    if call.tenant is None:
        defaults = tenants.clock_defaults
        return ClockView(defaults.mode, defaults.factor, iso(tenants.real_time()))
    clock = tenants.clock(call.tenant)
    return ClockView(clock.mode, clock.factor, iso(clock.now(tenants.real_time())))


def _each_tenant(call: Call) -> list[Any]:
    return [call.tenant] if call.tenant else call.backend.tenants.all()


@control("getClock")
def get_clock(call: Call) -> ClockView:
    return _clock_view(call)


@control("setClock")
def set_clock(call: Call) -> ClockView:
    tenants = call.backend.tenants
    mode, factor = call.body.get("mode"), call.body.get("factor")
    for tenant in _each_tenant(call):
        tenants.update_clock(tenant, lambda clock, real: clock.set_mode(mode or clock.mode, factor, real))
    if call.tenant is None:
        tenants.set_defaults(mode, factor)
    return _clock_view(call)


@control("advanceClock")
def advance_clock(call: Call) -> ClockView:
    seconds = float(call.body["seconds"])
    for tenant in _each_tenant(call):
        call.backend.tenants.update_clock(tenant, lambda clock, real: clock.advance(seconds, real))
    return _clock_view(call)


@control("seed")
def seed(call: Call) -> Reply:
    call.backend.tenants.seed(call.tenant, call.body["seed"])
    call.backend.faults.seed(call.body["seed"], _tenant_id(call))
    return Reply(204)


@control("listFaults")
def list_faults(call: Call) -> list[Any]:
    return call.backend.faults.list(_tenant_id(call))


@control("createFault")
def create_fault(call: Call) -> Reply:
    fields = call.op.bodies["application/json"].field_types  # the spec's `FaultCreate` properties
    spec = {snake(key): call.body[key] for key in fields if key in call.body}
    return Reply(201, call.backend.faults.add(_tenant_id(call), **spec))


@control("clearFaults")
def clear_faults(call: Call) -> Reply:
    call.backend.faults.clear(_tenant_id(call))
    return Reply(204)


@control("deleteFault")
def delete_fault(call: Call) -> Reply:
    if not call.backend.faults.remove(call.params["fault_id"], _tenant_id(call)):
        raise NotFound("fault")
    return Reply(204)


@control("listJournal")
def list_journal(call: Call) -> dict[str, Any]:
    found = call.backend.journal.find(
        _tenant_id(call), method=call.params.get("method"), path=call.params.get("path"),
        operation_id=call.params.get("operationId"), limit=call.params.get("limit"),
    )
    return {"count": len(found), "results": found}


@control("clearJournal")
def clear_journal(call: Call) -> Reply:
    call.backend.journal.clear(_tenant_id(call))
    return Reply(204)


def _scenario(body: dict[str, Any]) -> dict[str, Any]:
    return {"outcome": body["outcome"], "exitCode": body.get("exitCode"), "reason": body.get("reason"),
            "runSeconds": body.get("runSeconds"), "clusterStopSeconds": body.get("clusterStopSeconds")}


@control("setDefaultScenario")
def set_default_scenario(call: Call) -> dict[str, Any]:
    scenario = _scenario(call.body)
    if call.tenant is None:
        call.backend.jobs.default_scenario = scenario
    else:
        call.backend.tenants.save_settings(call.tenant, {**call.tenant.settings, "scenario": scenario})
    return scenario


@control("setJobScenario")
def set_job_scenario(call: Call) -> dict[str, Any]:
    scenario = _scenario(call.body)
    job_id = call.params["job_id"]
    tenant = call.tenant or call.backend.tenant_of_job(job_id)
    if tenant is None:
        raise NotFound("job")
    call.backend.jobs.set_scenario(tenant, job_id, scenario)
    return scenario


@control("getExecution")
def get_execution(call: Call) -> dict[str, Any]:
    return call.backend.runner.status(call.tenant)


@control("setExecution")
def set_execution(call: Call) -> dict[str, Any]:
    runner = call.backend.runner
    if call.body.get("enabled") and not runner.allowed:
        raise InvalidInput({"enabled": ["This server does not run commands: start it with "
                                        "`rescale-mock serve --execute` (or --execute=opt-in)."]})
    runner.configure(call.tenant, {k: call.body.get(k) for k in ("enabled", "analyses", "maxParallel")})
    return runner.status(call.tenant)


@control("getSshKeys")
def get_ssh_keys(call: Call) -> dict[str, Any]:
    backend = call.backend
    return backend.ssh_keys.view(call.tenant, backend.runner.ssh_available())


@control("setSshKeys")
def set_ssh_keys(call: Call) -> dict[str, Any]:
    backend = call.backend
    backend.ssh_keys.set(call.tenant, call.body["publicKeys"])
    return backend.ssh_keys.view(call.tenant, backend.runner.ssh_available())
