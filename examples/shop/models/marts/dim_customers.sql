with customers as (

    select * from {{ ref('stg_customers') }}

),

countries as (

    select * from {{ ref('country_codes') }}

),

order_history as (

    select
        customer_id,
        count(*) as order_count,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at,
        max(running_revenue_cents) as lifetime_revenue_cents,
        avg(days_since_previous_order) as avg_days_between_orders
    from {{ ref('int_customer_order_history') }}
    group by customer_id

),

current_subscription as (

    select customer_id, plan_name, mrr_cents, subscription_status
    from {{ ref('stg_subscriptions') }}
    where is_current

)

select
    customers.customer_id,
    customers.full_name,
    customers.email,
    customers.country_code,
    countries.country_name,
    countries.region,
    customers.created_at,
    order_history.first_order_at,
    order_history.last_order_at,
    coalesce(order_history.order_count, 0) as order_count,
    coalesce(order_history.lifetime_revenue_cents, 0) as lifetime_revenue_cents,
    order_history.avg_days_between_orders,
    -- recency measured against the most recent order in the whole data set
    date_diff(
        'day',
        order_history.last_order_at,
        (select max(ordered_at) from {{ ref('stg_orders') }})
    ) as days_since_last_order,
    current_subscription.plan_name as subscription_plan,
    coalesce(current_subscription.mrr_cents, 0) as subscription_mrr_cents,
    case
        when order_history.order_count is null then 'prospect'
        when order_history.order_count = 1 then 'one_time'
        when order_history.lifetime_revenue_cents >= 20000 then 'vip'
        else 'repeat'
    end as customer_segment
from customers
left join countries on customers.country_code = countries.country_code
left join order_history on customers.customer_id = order_history.customer_id
left join current_subscription on customers.customer_id = current_subscription.customer_id
