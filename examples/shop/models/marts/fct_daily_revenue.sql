with revenue as (

    select * from {{ ref('int_revenue_events') }}

),

daily as (

    select
        revenue_date,
        sum(case when revenue_type = 'order' then amount_cents else 0 end) as order_revenue_cents,
        sum(case when revenue_type = 'subscription' then amount_cents else 0 end) as subscription_revenue_cents,
        sum(amount_cents) as total_revenue_cents,
        count(distinct customer_id) as paying_customers
    from revenue
    group by revenue_date

)

select
    revenue_date,
    order_revenue_cents,
    subscription_revenue_cents,
    total_revenue_cents,
    paying_customers,
    sum(total_revenue_cents) over (order by revenue_date) as cumulative_revenue_cents,
    sum(total_revenue_cents) over (partition by date_trunc('month', revenue_date)) as month_revenue_cents
from daily
