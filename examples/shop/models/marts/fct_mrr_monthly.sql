with subscription_months as (

    select * from {{ ref('int_subscription_months') }}

),

monthly as (

    select
        month_start,
        sum(mrr_cents) as mrr_cents,
        count(distinct subscription_id) as active_subscriptions,
        count(*) filter (where is_new_month) as new_subscriptions,
        count(*) filter (where is_churn_month) as churned_subscriptions
    from subscription_months
    group by month_start

)

select
    month_start,
    mrr_cents,
    active_subscriptions,
    new_subscriptions,
    churned_subscriptions,
    lag(mrr_cents) over (order by month_start) as previous_mrr_cents,
    mrr_cents - coalesce(lag(mrr_cents) over (order by month_start), 0) as mrr_change_cents,
    cast(mrr_cents as double) / nullif(active_subscriptions, 0) / 100 as arpa
from monthly
