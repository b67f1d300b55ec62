{#-
  One row per order line. revenue = order_quantity * unit_price * (1 - unit_price_discount),
  exact (DECIMAL(28,8)). The order's attributes (customer, ship-to, status, dates) come from the
  header, so a line is re-merged when either its line or its header was re-extracted. A line
  whose line or order was deleted in the source leaves on the next build (delete_rows_gone_from).
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['sales_order_id', 'sales_order_detail_id'],
        on_schema_change='append_new_columns',
        partition_by=adw_partition_by('order_date', 'month'),
        cluster_by=adw_cluster_by(['product_id', 'customer_id']),
        post_hook="{{ delete_rows_gone_from([
            (ref('stg_sales__order_lines'), ['sales_order_id', 'sales_order_detail_id']),
            (ref('stg_sales__orders'), ['sales_order_id']),
        ]) }}",
    )
}}

with

order_lines as (

    select * from {{ ref('stg_sales__order_lines') }}

),

orders as (

    select * from {{ ref('stg_sales__orders') }}

),

joined as (

    select
        order_lines.sales_order_id,
        order_lines.sales_order_detail_id,
        order_lines.product_id,
        orders.customer_id,
        orders.ship_to_address_id,
        orders.credit_card_id,
        orders.status_code,
        orders.is_online_order,
        orders.order_date,
        order_lines.special_offer_id,
        order_lines.order_quantity,
        order_lines.unit_price,
        order_lines.unit_price_discount,
        {{ to_utc_timestamp(
            'case when orders._extracted_at > order_lines._extracted_at'
            ~ ' then orders._extracted_at else order_lines._extracted_at end'
        ) }} as _loaded_at

    from order_lines
    inner join orders
        on order_lines.sales_order_id = orders.sales_order_id

),

final as (

    select
        sales_order_id,
        sales_order_detail_id,
        product_id,
        customer_id,
        ship_to_address_id,
        credit_card_id,
        status_code,
        is_online_order,
        order_date,
        special_offer_id,
        order_quantity,
        unit_price,
        unit_price_discount,
        cast(order_quantity * unit_price as {{ amount_type() }}) as gross_revenue,
        cast(
            order_quantity * unit_price * (1 - unit_price_discount) as {{ amount_type() }}
        ) as revenue,
        _loaded_at

    from joined
    where {{ incremental_window('_loaded_at') }}

)

select * from final
