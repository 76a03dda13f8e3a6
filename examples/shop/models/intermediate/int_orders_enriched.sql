with orders as (

    select * from {{ ref('stg_orders') }}

),

order_lines as (

    select
        order_id,
        count(*) as line_count,
        sum(quantity) as units,
        sum(line_amount_cents) as gross_amount_cents,
        count(distinct category) as category_count
    from {{ ref('int_order_items_joined') }}
    group by order_id

),

payments as (

    select * from {{ ref('int_order_payments') }}

)

select
    orders.*,
    coalesce(order_lines.line_count, 0) as line_count,
    coalesce(order_lines.units, 0) as units,
    coalesce(order_lines.gross_amount_cents, 0) as gross_amount_cents,
    order_lines.category_count,
    coalesce(payments.paid_amount_cents, 0) as paid_amount_cents,
    coalesce(payments.payment_attempts, 0) as payment_attempts,
    payments.primary_payment_method,
    case
        when orders.order_status = 'cancelled' then 'cancelled'
        when coalesce(payments.paid_amount_cents, 0) >= order_lines.gross_amount_cents then 'paid'
        when coalesce(payments.paid_amount_cents, 0) > 0 then 'partially_paid'
        else 'unpaid'
    end as payment_state
from orders
left join order_lines on orders.order_id = order_lines.order_id
left join payments on orders.order_id = payments.order_id
