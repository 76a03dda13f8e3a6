-- Expands each subscription into one row per calendar month in which it was active.
with subscriptions as (

    select * from {{ ref('stg_subscriptions') }}

),

months as (

    select cast(month_start as date) as month_start
    from generate_series(date '2024-01-01', date '2024-09-01', interval 1 month) as t(month_start)

)

select
    subscriptions.subscription_id,
    subscriptions.customer_id,
    subscriptions.plan_name,
    months.month_start,
    subscriptions.mrr_cents,
    date_trunc('month', subscriptions.started_at) = months.month_start as is_new_month,
    coalesce(date_trunc('month', subscriptions.ended_at) = months.month_start, false) as is_churn_month
from subscriptions
inner join months
    on months.month_start >= date_trunc('month', subscriptions.started_at)
    and months.month_start <= subscriptions.valid_until
