-- One row per non-cancelled order with per-customer sequencing and running totals.
with orders as (

    select
        order_id,
        customer_id,
        ordered_at,
        order_date,
        paid_amount_cents
    from {{ ref('int_orders_enriched') }}
    where order_status <> 'cancelled'

)

select
    order_id,
    customer_id,
    ordered_at,
    row_number() over (partition by customer_id order by ordered_at) as customer_order_number,
    lag(order_date) over (partition by customer_id order by ordered_at) as previous_order_date,
    order_date - lag(order_date) over (partition by customer_id order by ordered_at) as days_since_previous_order,
    sum(paid_amount_cents) over (
        partition by customer_id
        order by ordered_at
        rows between unbounded preceding and current row
    ) as running_revenue_cents
from orders
