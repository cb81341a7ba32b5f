"""Compiled execution plans: cached queries and mutations run without graphql-core's walk.

A plan is compiled once per cached document and operation (and per outcome of its
@skip/@include conditions): field sets collected by graphql-core's own collector, literal
arguments coerced once, each field's resolver and completion chosen once. Running it walks
only the plan and the data; results, errors and null propagation are graphql-core's.
Mutation root fields run one after another in document order, as graphql-core's
execute_fields_serially runs synchronous resolvers. What a plan does not cover
(subscriptions, introspection, abstract types) returns None, and the executor runs
graphql-core as before.
"""

from graphql_runtime.plans.operation import DocumentPlans, PlanStats

__all__ = ["DocumentPlans", "PlanStats"]
